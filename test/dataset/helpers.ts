/**
 * Shared pieces of the Dataset execution tests: temporary folders, input files written with the
 * real format writers, and a multiset view of rows for comparing executors.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openWriter, readSplit, expandInputs } from "../../src/io/formats.ts";
import type { Num } from "./fixtures/user-fns.ts";

export const FIXTURES = new URL("./fixtures/user-fns.ts", import.meta.url).href;

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-ops-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const WORDS = ["kiln", "clay", "glaze", "fire", "wheel", "potter", "ash", "slip"];

/** `count` rows numbered from `from`, with words of varying length and a language tag. */
export function makeRows(from: number, count: number): Array<Num & { lang: string }> {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return { n, word: WORDS[(n * 7) % WORDS.length] + (n % 5 === 0 ? "s" : ""), lang: n % 3 === 0 ? "fr" : "en" };
  });
}

export async function writeFile(file: string, rows: unknown[], format: "jsonl" | "jsonl.zst" | "parquet"): Promise<void> {
  const w = openWriter(file, format, format === "parquet" ? { rowGroupRows: 50 } : {});
  await w.write(rows);
  await w.close();
}

/**
 * `rows` as `parts` parquet files `<dir>/<i>.parquet` of equal shares: a stage of that many tasks, so
 * that a pool runs them (a stage of one small task runs on the calling thread).
 */
export async function writeParquetParts(dir: string, rows: unknown[], parts: number): Promise<void> {
  const share = Math.ceil(rows.length / parts);
  for (let i = 0; i < parts; i++) await writeFile(path.join(dir, `${i}.parquet`), rows.slice(i * share, (i + 1) * share), "parquet");
}

export async function readAll(patterns: string | string[]): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (const split of await expandInputs(patterns)) for await (const b of readSplit(split)) rows.push(...b.rows);
  return rows;
}

/** Rows as sorted canonical strings, so two executors can be compared regardless of order. */
export function multiset(rows: unknown[]): string[] {
  return rows.map((r) => JSON.stringify(r, Object.keys(flatKeys(r)).sort())).sort();
}

function flatKeys(r: unknown): Record<string, true> {
  const keys: Record<string, true> = {};
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (keys[k] = true), walk(x);
  };
  walk(r);
  return keys;
}
