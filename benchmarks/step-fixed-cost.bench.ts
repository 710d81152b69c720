/**
 * The fixed cost of a data step: CPU-s (user + system of every thread of the process) of a normalize
 * step with exact dedup and of a tokenize step (a 2,048-piece BPE vocabulary trained once up front)
 * on about 1 MB of embedded text, each run in a fresh child process four times in a row: the first
 * normalize is the process's first step and pays its start-up (the heartbeat thread, the pool's worker
 * threads and their module loading); the first tokenize runs after a normalize and a tokenizer training
 * (warm pool, cold vocabulary); the later ones are what each further step of a pipeline costs. The
 * CPU-s of node, tsx and kiln's import before any step is reported apart. A third kind of child runs,
 * as its process's first work, a Dataset map with a user's function (a module that imports kiln by
 * name, support/fixed-cost-fns.ts) over the same 1 MB cut into 4 files, on a new pool: what the
 * user's module costs the workers that import it (the coordinator's precompile, see
 * dataset/exec/user-modules.ts, runs in esbuild's own process the first time and is not counted; the
 * later children reuse its file). Medians over KILN_BENCH_RUNS child processes (default 3);
 * KILN_BENCH_THREADS worker threads (default 2).
 * Writes benchmarks/results/step-fixed-cost.json.
 * Run: node --import tsx benchmarks/step-fixed-cost.bench.ts
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { currentCommit } from "./support/commit.ts";
import { median } from "./support/cpu-timing.ts";

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(THIS_FILE), "..");
const INPUT_BYTES = 1_000_000;
const STEPS_PER_PROCESS = 4;

interface ChildResult {
  inputBytes: number;
  /** CPU-s of the process up to kiln's import (node, tsx and kiln's modules). */
  importCpuSeconds: number;
  documents: number;
  normalize: number[];
  tokenize: number[];
  maxRssMB: number;
}

/** Writes ~1 MB of Brown text as one JSONL file; returns its size and document count. */
async function writeInput(file: string): Promise<{ bytes: number; documents: number }> {
  const { BUILTIN_SOURCES, readEmbeddedSource } = await import("../src/steps/sources/index.ts");
  const spec = BUILTIN_SOURCES.find((s) => s.name === "brown-fiction") ?? BUILTIN_SOURCES[0];
  const lines: string[] = [];
  let bytes = 0;
  for await (const r of readEmbeddedSource(spec)) {
    const line = JSON.stringify({ text: r.text, source: r.source, source_id: r.source_id });
    if (bytes + line.length + 1 > INPUT_BYTES) break;
    lines.push(line);
    bytes += Buffer.byteLength(line) + 1;
  }
  writeFileSync(file, lines.join("\n") + "\n");
  return { bytes, documents: lines.length };
}

async function cpuOf(work: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** One child process: kiln's import, then the same normalize and tokenize steps STEPS_PER_PROCESS times under new names. */
async function child(dir: string, threads: number): Promise<void> {
  const { buildGraph, runGraph, normalizeStep, tokenizeStep, trainTokenizerStep } = await import("../src/index.ts");
  const started = process.cpuUsage();
  const importCpuSeconds = (started.user + started.system) / 1e6;
  const input = path.join(dir, "input.jsonl");
  const { bytes, documents } = await writeInput(input);
  const run = async (steps: Parameters<typeof buildGraph>[0]) => {
    const summary = await runGraph(buildGraph(steps), { prefix: path.join(dir, "out"), log: () => undefined });
    if (!summary.ok) throw summary.failed[0].error;
  };
  const normalizeRun = (i: number) => cpuOf(() => run([normalizeStep({ name: `fixed/normalized-${i}`, input, dedup: "exact", threads })]));
  const result: ChildResult = { inputBytes: bytes, documents, importCpuSeconds, normalize: [await normalizeRun(0)], tokenize: [], maxRssMB: 0 };
  const base = normalizeStep({ name: "fixed/normalized-0", input, dedup: "exact", threads });
  const tokenizer = trainTokenizerStep({ name: "fixed/bpe", input: base.output("outputs/main"), vocabSize: 2048, maxBytes: INPUT_BYTES });
  await run([tokenizer]);
  for (let i = 0; i < STEPS_PER_PROCESS; i++) {
    if (i > 0) result.normalize.push(await normalizeRun(i));
    const tok = tokenizeStep({ name: `fixed/tokenized-${i}`, input: base.output("outputs/main"), tokenizer, threads });
    result.tokenize.push(await cpuOf(() => run([tok])));
  }
  result.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** A child whose first work is a map with a user's function over ~1 MB in 4 files on a new pool of `threads`. */
async function userFunctionChild(dir: string, threads: number): Promise<void> {
  const { Dataset, executeDataset, fn } = await import("../src/index.ts");
  const { FIXED_COST_FUNCTIONS, withWordCount } = await import("./support/fixed-cost-fns.ts");
  const whole = path.join(dir, "whole.jsonl");
  await writeInput(whole);
  const lines = readFileSync(whole, "utf8").trimEnd().split("\n");
  const quarter = Math.ceil(lines.length / 4);
  for (let i = 0; i < 4; i++) writeFileSync(path.join(dir, `part-${i}.jsonl`), lines.slice(i * quarter, (i + 1) * quarter).join("\n") + "\n");
  let rows = 0;
  const cpuSeconds = await cpuOf(async () => {
    const ds = Dataset.read<{ text?: unknown }>(path.join(dir, "part-*.jsonl")).map(fn(FIXED_COST_FUNCTIONS, withWordCount));
    rows = (await executeDataset(ds, { threads, progress: false })).rows.length;
  });
  if (rows !== lines.length) throw new Error(`the map returned ${rows} rows of ${lines.length}`);
  process.stdout.write(JSON.stringify({ cpuSeconds, rows }) + "\n");
}

function main(): void {
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const threads = Number(process.env.KILN_BENCH_THREADS ?? 2);
  const results: ChildResult[] = [];
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-fixed-cost-"));
    try {
      const out = execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--child", dir, String(threads)], { cwd: ROOT, encoding: "utf8" });
      const res: ChildResult = JSON.parse(out.trim().split("\n").pop() ?? "{}");
      results.push(res);
      console.log(`run ${r + 1}/${runs}: normalize CPU-s ${res.normalize.map((x) => x.toFixed(2)).join(", ")}; tokenize CPU-s ${res.tokenize.map((x) => x.toFixed(2)).join(", ")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const userRuns: number[] = [];
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-fixed-cost-user-"));
    try {
      const out = execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--child-user-function", dir, String(threads)], { cwd: ROOT, encoding: "utf8" });
      const res: { cpuSeconds: number } = JSON.parse(out.trim().split("\n").pop() ?? "{}");
      userRuns.push(+res.cpuSeconds.toFixed(3));
      console.log(`run ${r + 1}/${runs}: a map with a user's function as a process's first work ${res.cpuSeconds.toFixed(2)} CPU-s`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const column = (kind: "normalize" | "tokenize", at: (xs: number[]) => number) => +median(results.map((r) => at(r[kind]))).toFixed(3);
  const first = (xs: number[]) => xs[0];
  const warm = (xs: number[]) => median(xs.slice(1));
  const report = {
    benchmark: "step-fixed-cost",
    description: `CPU-s of a normalize (exact dedup) and a tokenize step on ~1 MB of Brown text: the first step of a process and the median of the next ${STEPS_PER_PROCESS - 1}; and a map with a user function (its module imports kiln) over the same bytes in 4 files as a process's first work, pool start included; ${threads} worker threads`,
    commit: currentCommit(),
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverageAtEnd: os.loadavg().map((x) => +x.toFixed(2)) },
    input: { bytes: results[0]?.inputBytes, documents: results[0]?.documents, runs },
    processStartCpuSeconds: +median(results.map((r) => r.importCpuSeconds)).toFixed(3),
    normalize: { firstStepCpuSeconds: column("normalize", first), warmStepCpuSeconds: column("normalize", warm) },
    tokenize: { firstStepCpuSeconds: column("tokenize", first), warmStepCpuSeconds: column("tokenize", warm) },
    userFunction: { firstWorkCpuSeconds: +median(userRuns).toFixed(3), runsCpuSeconds: userRuns },
    peakRssMB: Math.max(...results.map((r) => r.maxRssMB)),
    goal: "a step on a 1 MB input under 1 CPU-s",
    runs: results,
  };
  mkdirSync(path.join(ROOT, "benchmarks/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "benchmarks/results/step-fixed-cost.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify({ normalize: report.normalize, tokenize: report.tokenize, userFunction: report.userFunction, peakRssMB: report.peakRssMB }, null, 2));
}

if (process.argv[2] === "--child" || process.argv[2] === "--child-user-function") {
  (process.argv[2] === "--child" ? child : userFunctionChild)(process.argv[3], Number(process.argv[4])).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main();
}
