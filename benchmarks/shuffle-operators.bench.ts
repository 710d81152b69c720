/**
 * The Dataset shuffle operators end to end (read JSONL, scatter, merge, reduce) side by side with
 * DuckDB on the same input: countByKey (with its map-side combiner), groupBy without a combiner
 * (every row crosses the shuffle) and deduplicate. kiln runs on the worker pool (2 threads) and
 * inline (1 thread); DuckDB runs with threads=2 and memory_limit 512MB. Every engine-run is a child
 * process, so peak RSS is its own (worker threads included). Input: synthetic JSONL rows of ~250
 * bytes with 20k uniform keys and 30% exact duplicates. Default ~50 MB; `KILN_BENCH_BYTES` for more,
 * `KILN_BENCH_RUNS` runs each (median, default 3). Writes benchmarks/results/shuffle-operators.json.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { isMainThread } from "node:worker_threads";
import { Dataset, executeDataset, fn } from "../src/index.ts";
import type { ShuffleKey } from "../src/shuffle/index.ts";

type Case = "countByKey" | "groupBy" | "deduplicate";
type Engine = "kiln-pool" | "kiln-inline" | "duckdb";
interface Row { id: string; domain: string; text: string }
interface Sample { seconds: number; groups: number; peakRssBytes: number }

const CASES: Case[] = ["countByKey", "groupBy", "deduplicate"];
const ENGINES: Engine[] = ["kiln-pool", "kiln-inline", "duckdb"];
const SELF = new URL(import.meta.url).href;
const BUDGET = 256 * 1024 * 1024;

export function byDomain(row: Row): string {
  return row.domain;
}
export function byId(row: Row): string {
  return row.id;
}
export async function domainStats(key: ShuffleKey, values: AsyncIterable<Row>): Promise<{ domain: ShuffleKey; n: number; chars: number }> {
  let n = 0;
  let chars = 0;
  for await (const v of values) {
    n++;
    chars += v.text.length;
  }
  return { domain: key, n, chars };
}

function buildInput(file: string, targetBytes: number): { rows: number; bytes: number } {
  const words = "kiln clay glaze fire wheel potter ash slip bisque cone kick throw trim wedge stain oxide flux frit silica".split(" ");
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out = fs.openSync(file, "w");
  const recent: string[] = [];
  let bytes = 0;
  let rows = 0;
  let chunk: string[] = [];
  while (bytes < targetBytes) {
    let text: string;
    if (recent.length > 100 && rand() < 0.3) text = recent[Math.floor(rand() * recent.length)];
    else {
      text = Array.from({ length: 30 }, () => words[Math.floor(rand() * words.length)]).join(" ") + ` ${rows}`;
      recent.push(text);
      if (recent.length > 5000) recent.shift();
    }
    const row: Row = { id: createHash("sha1").update(text).digest("hex"), domain: `domain-${Math.floor(rand() * 20000)}.example`, text };
    const line = JSON.stringify(row) + "\n";
    chunk.push(line);
    bytes += line.length;
    rows++;
    if (chunk.length === 4096) {
      fs.writeSync(out, chunk.join(""));
      chunk = [];
    }
  }
  fs.writeSync(out, chunk.join(""));
  fs.closeSync(out);
  return { rows, bytes };
}

async function kilnRun(c: Case, engine: Engine, file: string, work: string): Promise<Sample> {
  const input = Dataset.read<Row>(file, { splitBytes: 8 * 1024 * 1024 });
  const ds =
    c === "countByKey"
      ? input.countByKey(fn(SELF, byDomain))
      : c === "groupBy"
        ? input.groupBy(fn(SELF, byDomain), fn(SELF, domainStats))
        : input.deduplicate(fn(SELF, byId));
  const t0 = performance.now();
  const { value } = await executeDataset(ds.count(), {
    executor: engine === "kiln-pool" ? "pool" : "inline",
    threads: 2,
    tmpDir: work,
    progress: false,
    memoryBudgetBytes: BUDGET,
  });
  return { seconds: (performance.now() - t0) / 1000, groups: value, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

async function duckdbRun(c: Case, file: string, work: string): Promise<Sample> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:", { memory_limit: "512MB", temp_directory: work, threads: "2" });
  const conn = await instance.connect();
  const src = `read_json('${file}', format='newline_delimited', columns={id:'VARCHAR', domain:'VARCHAR', text:'VARCHAR'})`;
  const sql =
    c === "deduplicate"
      ? `SELECT count(*) FROM (SELECT id, first(domain), first(text) FROM ${src} GROUP BY id)`
      : c === "countByKey"
        ? `SELECT count(*) FROM (SELECT domain, count(*) FROM ${src} GROUP BY domain)`
        : `SELECT count(*) FROM (SELECT domain, count(*), sum(length(text)) FROM ${src} GROUP BY domain)`;
  const t0 = performance.now();
  const [row] = (await conn.runAndReadAll(sql)).getRows();
  return { seconds: (performance.now() - t0) / 1000, groups: Number(row[0]), peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

function runChild(engine: Engine, c: Case, file: string, dir: string): Sample {
  const work = fs.mkdtempSync(path.join(dir, `${engine}-`));
  try {
    const out = execFileSync(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--child", engine, c, file, work], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    return JSON.parse(out.trim().split("\n").at(-1)!) as Sample;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const targetBytes = Number(process.env.KILN_BENCH_BYTES ?? 50e6);
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kiln-bench-shuffle-ops-"));
  try {
    const file = path.join(dir, "input.jsonl");
    const input = buildInput(file, targetBytes);
    console.error(`input: ${input.rows} rows, ${(input.bytes / 1e6).toFixed(1)} MB`);
    const cases = [];
    for (const c of CASES) {
      const summary: Record<string, { medianSeconds: number; seconds: number[]; throughputMBps: number; peakRssMB: number; groups: number }> = {};
      for (const engine of ENGINES) {
        const samples: Sample[] = [];
        for (let r = 0; r < runs; r++) samples.push(runChild(engine, c, file, dir));
        const m = median(samples.map((s) => s.seconds));
        summary[engine] = {
          medianSeconds: Number(m.toFixed(3)),
          seconds: samples.map((s) => Number(s.seconds.toFixed(3))),
          throughputMBps: Number((input.bytes / 1e6 / m).toFixed(1)),
          peakRssMB: Math.round(Math.max(...samples.map((s) => s.peakRssBytes)) / 2 ** 20),
          groups: samples[0].groups,
        };
        console.error(`${c} ${engine}: ${m.toFixed(2)} s, ${summary[engine].peakRssMB} MB peak RSS, ${samples[0].groups} groups`);
      }
      const agree = new Set(Object.values(summary).map((s) => s.groups)).size === 1;
      if (!agree) throw new Error(`${c}: engines disagree on the number of groups: ${JSON.stringify(Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.groups])))}`);
      const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
      cases.push({
        case: c,
        ...summary,
        ratios: {
          poolOverDuckdb: ratio(summary["kiln-pool"].medianSeconds, summary.duckdb.medianSeconds),
          inlineOverPool: ratio(summary["kiln-inline"].medianSeconds, summary["kiln-pool"].medianSeconds),
        },
      });
    }
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const result = {
      benchmark: "shuffle-operators",
      commit,
      node: process.version,
      cpus: os.cpus().length,
      note: "shared, noisy 2-core machine (other jobs running); ratios are time(a)/time(b), >1 means a is slower; kiln's tree had uncommitted shuffle-operator changes on top of the commit",
      input: { rows: input.rows, bytes: input.bytes, keys: "20k uniform domains; 30% exact duplicate texts (deduplicate by sha1 id)" },
      settings: { runs, kilnMemoryBudget: "256 MiB per task", kilnThreads: { pool: 2, inline: 1 }, splitBytes: "8 MiB", duckdb: "memory_limit='512MB', threads=2" },
      cases,
    };
    const outFile = path.join(path.dirname(new URL(import.meta.url).pathname), "results", "shuffle-operators.json");
    fs.writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
    console.error(`wrote ${outFile}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Pool workers (and the inline executor) import this module for its functions, so nothing runs on
// import in a worker, and the main thread does not await at top level (the module must finish
// evaluating before the inline executor can import it).
const fail = (err: unknown) => {
  console.error(err);
  process.exit(1);
};
if (!isMainThread) {
  // functions only
} else if (process.argv[2] === "--child") {
  const [, , , engine, c, file, work] = process.argv as [string, string, string, Engine, Case, string, string];
  (engine === "duckdb" ? duckdbRun(c, file, work) : kilnRun(c, engine, file, work)).then((sample) => {
    console.log(JSON.stringify(sample));
    process.exit(0);
  }, fail);
} else if (process.argv[1]?.endsWith("shuffle-operators.bench.ts")) {
  main().catch(fail);
}
