/**
 * Format throughput on one synthetic corpus (records `{id, text, n, score, tags}` with ~400-byte
 * texts): kiln's JSONL reader (plain, plain cut into 8 byte-range splits, zstd), parquet reader, and
 * the jsonl.zst / parquet writers; peers in the same run: Node's `readline` + JSON.parse over the same
 * plain file (the naive reader) and DuckDB's read_json / read_parquet counting the rows (native code,
 * rows never become JS objects, so it is a ceiling rather than a like-for-like peer).
 * Writers run first; readers run after the in-memory corpus is released. Medians of
 * KILN_BENCH_RUNS runs (default 5), each run starting at a different reader. Input: KILN_BENCH_ROWS
 * rows (default 100,000, ~44 MB of JSONL; the full-size run is 1,000,000). Writes
 * benchmarks/results/io-formats.json.
 * Run: node --import tsx benchmarks/io-formats.bench.ts
 */
import { execFileSync } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { DuckDBInstance } from "@duckdb/node-api";
import { expandInputs, openWriter, readSplit } from "../src/io/formats.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeIt(fn: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  const t = performance.now();
  const rows = await fn();
  return { ms: performance.now() - t, rows };
}

function corpus(n: number): Record<string, unknown>[] {
  const words = ["data", "model", "token", "shard", "kiln", "graph", "stream", "batch", "über", "naïve", "日本"];
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const parts: string[] = [];
    for (let w = 0; w < 60; w++) parts.push(words[Math.floor(rand() * words.length)]);
    return { id: `doc-${i}`, text: parts.join(" "), n: i, score: rand(), tags: ["a", "b"].slice(0, i % 3) };
  });
}

async function countRows(pattern: string, opts: { splitBytes?: number } = {}): Promise<number> {
  let rows = 0;
  for (const split of await expandInputs(pattern, opts)) for await (const b of readSplit(split)) rows += b.rows.length;
  return rows;
}

async function main(): Promise<void> {
  const n = Number(process.env.KILN_BENCH_ROWS ?? 100_000);
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 5);
  const dir = mkdtempSync(path.join(tmpdir(), "kiln-io-bench-"));
  const duck = await DuckDBInstance.create(":memory:");
  const db = await duck.connect();
  try {
    // Rows as they come from JSON.parse (not strings built by concatenation; see DESIGN.md).
    const rows = JSON.parse(JSON.stringify(corpus(n))) as Record<string, unknown>[];
    const plain = path.join(dir, "data.jsonl");
    writeFileSync(plain, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const zst = path.join(dir, "data.jsonl.zst");
    const pq = path.join(dir, "data.parquet");
    const timings: Record<string, number[]> = {};
    const record = (name: string, r: { ms: number; rows: number }) => {
      if (r.rows !== n) throw new Error(`${name}: ${r.rows} rows, expected ${n}`);
      (timings[name] ??= []).push(r.ms);
    };
    for (let run = 0; run < runs; run++) {
      record("write jsonl.zst (kiln, level 3)", await timeIt(async () => {
        const w = openWriter(zst, "jsonl.zst");
        for (let i = 0; i < n; i += 4096) await w.write(rows.slice(i, i + 4096));
        return (await w.close()).rows;
      }));
      record("write parquet (kiln, zstd)", await timeIt(async () => {
        const w = openWriter(pq, "parquet");
        await w.write(rows);
        return (await w.close()).rows;
      }));
    }
    // Readers run without the corpus in memory, as a pipeline would (a large live heap slows GC).
    rows.length = 0;
    for (let run = 0; run < runs; run++) {
      // Each run starts at a different reader, so no reader always follows the same predecessor.
      const readers: [string, () => Promise<number>][] = [
        ["read jsonl (kiln)", () => countRows(plain)],
        ["read jsonl, 8 byte-range splits (kiln)", () => countRows(plain, { splitBytes: Math.ceil(statSync(plain).size / 8) })],
        ["read jsonl (readline + JSON.parse)", async () => {
          let count = 0;
          for await (const line of createInterface({ input: createReadStream(plain), crlfDelay: Infinity })) {
            if (line) {
              JSON.parse(line);
              count++;
            }
          }
          return count;
        }],
        ["read jsonl.zst (kiln)", () => countRows(zst)],
        ["read parquet (kiln, hyparquet)", () => countRows(pq)],
        ["count jsonl.zst (DuckDB read_json)", async () => {
          const r = await db.runAndReadAll(`SELECT count(*) AS c FROM read_json('${zst}', format = 'newline_delimited')`);
          return Number(r.getRows()[0][0]);
        }],
        ["count parquet, all columns (DuckDB)", async () => {
          const r = await db.runAndReadAll(`SELECT count(*) FROM (SELECT * FROM read_parquet('${pq}') WHERE length(text) >= 0)`);
          return Number(r.getRows()[0][0]);
        }],
      ];
      for (let k = 0; k < readers.length; k++) {
        const [name, fn] = readers[(k + run) % readers.length];
        record(name, await timeIt(fn));
      }
    }
    const plainBytes = statSync(plain).size;
    const results = Object.fromEntries(
      Object.entries(timings).map(([name, ms]) => {
        const m = median(ms);
        return [name, { medianMs: Math.round(m), rowsPerSec: Math.round(n / (m / 1000)), jsonMBPerSec: +(plainBytes / 1e6 / (m / 1000)).toFixed(1) }];
      }),
    );
    const base = median(timings["read jsonl (readline + JSON.parse)"]);
    const out = {
      benchmark: "io-formats",
      commit: execFileSync("git", ["rev-parse", "HEAD"]).toString().trim(),
      uncommittedChanges: execFileSync("git", ["status", "--porcelain", "--", "src/io", "benchmarks/io-formats.bench.ts"]).toString().trim() !== "",
      date: new Date().toISOString(),
      node: process.version,
      note: "2-core machine shared with other jobs at the time: absolute numbers are noisy, compare ratios within this run",
      input: { rows: n, jsonlBytes: plainBytes, zstBytes: statSync(zst).size, parquetBytes: statSync(pq).size },
      runs,
      results,
      ratios: {
        "kiln jsonl read vs readline+JSON.parse (speedup)": +(base / median(timings["read jsonl (kiln)"])).toFixed(2),
        "kiln jsonl.zst read vs readline+JSON.parse on plain (speedup)": +(base / median(timings["read jsonl.zst (kiln)"])).toFixed(2),
      },
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    mkdirSync(path.join(import.meta.dirname, "results"), { recursive: true });
    writeFileSync(path.join(import.meta.dirname, "results", "io-formats.json"), JSON.stringify(out, null, 2) + "\n");
    console.log(JSON.stringify(out, null, 2));
  } finally {
    db.closeSync();
    duck.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
