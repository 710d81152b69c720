/**
 * Scaling of the quickstart's data steps (test/fixtures/pipelines/datakit.ts: download, normalize,
 * MinHash dedup, quality, consolidate on KILN_QUICKSTART_SOURCES, default three sources) through
 * `kiln run --redis`: one worker process with one task thread against two worker processes with
 * one task thread each, on this 2-core machine. Each run starts fresh workers and a fresh prefix;
 * runs alternate; wall time of the driver, peak RSS (VmHWM) and CPU seconds of each worker; medians of
 * KILN_BENCH_REPS (default 3).
 * Run: node --import tsx benchmarks/distributed-quickstart.bench.ts   (writes benchmarks/results/distributed-quickstart.json)
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { launchRedis } from "../test/support/redis-server.ts";
import { median } from "./support/cpu-timing.ts";
import { startBenchWorker } from "./support/kiln-workers.ts";

const SOURCES = process.env.KILN_QUICKSTART_SOURCES ?? "brown-press,spam-assassin-spam,js-ts-code";
const REPS = Number(process.env.KILN_BENCH_REPS ?? 3);
const env = { KILN_QUICKSTART_SOURCES: SOURCES };

function driver(url: string, prefix: string): Promise<{ seconds: number; code: number | null; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/kiln.mjs", "run", "test/fixtures/pipelines/datakit.ts", "--prefix", prefix, "--redis", url], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ seconds: (performance.now() - started) / 1000, code, stderr }));
  });
}

interface Run {
  seconds: number;
  peakRssMb: number[];
  cpuSeconds: number[];
}

async function once(url: string, workers: number): Promise<Run> {
  const started = await Promise.all(Array.from({ length: workers }, () => startBenchWorker(url, ["--concurrency", "1"], env)));
  const dir = mkdtempSync(path.join(tmpdir(), "kiln-dist-bench-"));
  try {
    const run = await driver(url, path.join(dir, "out"));
    if (run.code !== 0 || !run.stderr.includes("ran 9, skipped 0")) throw new Error(`datakit failed:\n${run.stderr.slice(-3000)}`);
    return { seconds: run.seconds, peakRssMb: started.map((w) => w.peakRssMb()), cpuSeconds: started.map((w) => w.cpuSeconds()) };
  } finally {
    await Promise.all(started.map((w) => w.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const redis = await launchRedis();
const one: Run[] = [];
const two: Run[] = [];
try {
  for (let r = 0; r < REPS; r++) {
    one.push(await once(redis.url, 1));
    two.push(await once(redis.url, 2));
    console.error(`rep ${r + 1}: 1 worker ${one[r].seconds.toFixed(1)} s, 2 workers ${two[r].seconds.toFixed(1)} s (worker CPU ${one[r].cpuSeconds.join("+")} s vs ${two[r].cpuSeconds.join("+")} s)`);
  }
} finally {
  await redis.kill();
}
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
} catch {}
const r1 = (x: number) => Math.round(x * 10) / 10;
const summary = (runs: Run[]) => ({
  wall_s: { median: r1(median(runs.map((r) => r.seconds))), runs: runs.map((r) => r1(r.seconds)) },
  peak_rss_mb_per_worker: { median: median(runs.flatMap((r) => r.peakRssMb)), max: Math.max(...runs.flatMap((r) => r.peakRssMb)), runs: runs.map((r) => r.peakRssMb) },
  worker_cpu_s_total: { median: r1(median(runs.map((r) => r.cpuSeconds.reduce((a, b) => a + b, 0)))), runs: runs.map((r) => r.cpuSeconds.map(r1)) },
});
const result = {
  benchmark: "distributed-quickstart",
  commit,
  date: new Date().toISOString(),
  machine: "2 cores, shared",
  node: process.version,
  sources: SOURCES.split(","),
  what: "datakit (9 steps) through kiln run --redis; workers with --concurrency 1 (one task thread) and the default 2 step threads; redis-server on loopback",
  one_worker: summary(one),
  two_workers: summary(two),
  wall_ratio_two_over_one: Number((median(two.map((r) => r.seconds)) / median(one.map((r) => r.seconds))).toFixed(3)),
};
writeFileSync(path.join("benchmarks", "results", "distributed-quickstart.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
