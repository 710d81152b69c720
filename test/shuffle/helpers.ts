/**
 * Shared helpers for the shuffle tests: temp folders, running map tasks over in-memory records,
 * and reading back whole partitions.
 */
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { suiteDir as sharedSuiteDir } from "../support/suite-dir.ts";
import { ScatterWriter, ShuffleReader, listMapOutputs, type ReadPartitionOptions, type ScatterWriterOptions } from "../../src/shuffle/index.ts";

export async function tempDir(label: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `kiln-shuffle-test-${label}-`));
}

/** A temp folder for the whole suite, removed after it; read `.path` inside tests. */
export const suiteDir = (label: string): { path: string } => sharedSuiteDir(`kiln-shuffle-test-${label}`);

/** Runs one map task per input shard; returns the committed sidecar paths. */
export async function scatter<T>(
  shards: T[][],
  opts: Omit<ScatterWriterOptions<T>, "mapTask">,
): Promise<string[]> {
  for (let m = 0; m < shards.length; m++) {
    const writer = await ScatterWriter.open<T>({ ...opts, mapTask: m });
    await writer.writeAll(shards[m]);
    await writer.commit();
  }
  return listMapOutputs(opts.outputDir);
}

export async function readAll<T>(opts: ReadPartitionOptions<T>): Promise<{ entries: { key: unknown; sort: unknown; record: T }[]; reader: ShuffleReader<T> }> {
  const reader = new ShuffleReader<T>(opts);
  const entries = [];
  for await (const e of reader.entries()) entries.push(e);
  return { entries, reader };
}

/** Splits records round-robin into `n` shards. */
export function shard<T>(records: T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  records.forEach((r, i) => out[i % n].push(r));
  return out;
}

/** A deterministic pseudo-random generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch {
    return [];
  }
}
