/** Shared helpers for the storage and format tests: temp folders and draining a split reader. */
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { readSplit, type InputSplit, type ReadOptions } from "../../src/io/formats.ts";

export async function tempDir(tag: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `kiln-io-${tag}-`));
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
