/**
 * Shared helpers for the storage and format tests: temp folders (per suite, removed after it), an
 * in-memory DuckDB as a peer, the same JSONL bytes as plain, .zst and .gz files, and draining a
 * split reader.
 */
import { afterAll, beforeAll } from "vitest";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "zstd-napi";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { readSplit, type InputSplit, type ReadOptions } from "../../src/io/formats.ts";
import { suiteDir as sharedSuiteDir } from "../support/suite-dir.ts";

export async function tempDir(tag: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `kiln-io-${tag}-`));
}

/** A temp folder created before the suite's tests and removed after them; read `.path` inside tests. */
export const suiteDir = (tag: string): { path: string } => sharedSuiteDir(`kiln-io-${tag}`);

class DuckDBPeer {
  instance: DuckDBInstance | undefined;
  connection: DuckDBConnection | undefined;

  get db(): DuckDBConnection {
    if (!this.connection) throw new Error("the DuckDB peer is open only while the suite's tests run");
    return this.connection;
  }
}

/** An in-memory DuckDB connection open for the suite's tests; read `.db` inside tests. */
export function suiteDuckDB(): { readonly db: DuckDBConnection } {
  const peer = new DuckDBPeer();
  beforeAll(async () => {
    peer.instance = await DuckDBInstance.create(":memory:");
    peer.connection = await peer.instance.connect();
  });
  afterAll(() => {
    peer.connection?.closeSync();
    peer.instance?.closeSync();
  });
  return peer;
}

/** Column name → DuckDB type of what `source` (e.g. `read_parquet('dir/*.parquet')`) returns. */
export async function duckdbColumnTypes(db: DuckDBConnection, source: string): Promise<Record<string, string>> {
  const described = await db.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${source})`);
  return Object.fromEntries(described.getRows().map(([name, type]) => [String(name), String(type)]));
}

/** The same JSONL content as `<base>.jsonl`, `<base>.jsonl.zst` and `<base>.jsonl.gz` files' bytes. */
export function everyCompression(base: string, content: string | Buffer): [string, Buffer][] {
  const bytes = Buffer.from(content);
  return [
    [`${base}.jsonl`, bytes],
    [`${base}.jsonl.zst`, Buffer.from(zstdCompress(bytes))],
    [`${base}.jsonl.gz`, gzipSync(bytes)],
  ];
}

export async function readAll(split: InputSplit, opts?: ReadOptions): Promise<unknown[]> {
  const rows: unknown[] = [];
  for await (const batch of readSplit(split, opts)) rows.push(...batch.rows);
  return rows;
}

/** Order-independent comparison key for a multiset of rows. */
export function multiset(rows: unknown[]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}
