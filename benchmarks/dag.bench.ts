/**
 * Step-layer overhead: a synthetic DAG of 10,000 steps (each with up to three inputs among the
 * earlier steps) — time to build it (hash every version) plus a dry run over empty markers; and a
 * full resume of 1,000 finished steps (every step skipped, results loaded from info.json).
 * Targets on the 2-core machine: dry run under 2 s, resume under 1 s. Medians of 5 runs.
 * Run: npm run bench:dag   (writes benchmarks/results/dag.json)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { buildGraph } from "../src/graph/dag.ts";
import { step, type AnyStep } from "../src/graph/step.ts";
import { versioned } from "../src/graph/versioned.ts";
import { planRun, runGraph } from "../src/executor/scheduler.ts";

function syntheticDag(n: number, seed = 1): AnyStep[] {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const steps: AnyStep[] = [];
  for (let i = 0; i < n; i++) {
    const inputs: Record<string, AnyStep> = {};
    const k = i === 0 ? 0 : 1 + Math.floor(rand() * Math.min(3, i));
    for (let j = 0; j < k; j++) inputs[`in${j}`] = steps[Math.floor(rand() * i)];
    steps.push(step({ name: `layer${i % 50}/step${i}`, config: { index: versioned(i), lr: versioned(0.001 * (i % 7)), threads: 4 }, inputs, run: async () => ({ i }) }));
  }
  return steps;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 5);
  const dir = mkdtempSync(path.join(tmpdir(), "kiln-dag-bench-"));
  try {
    const big = syntheticDag(10_000);
    const dryRun: number[] = [];
    const hashOnly: number[] = [];
    for (let r = 0; r < runs; r++) {
      hashOnly.push(await timeIt(async () => buildGraph(big)));
      dryRun.push(await timeIt(async () => {
        const g = buildGraph(big);
        const plans = await planRun(g, { prefix: path.join(dir, "empty") });
        if (plans.length !== 10_000) throw new Error("plan size");
      }));
    }

    const small = syntheticDag(1_000, 7);
    const prefix = path.join(dir, "resume");
    mkdirSync(prefix, { recursive: true });
    const first = await runGraph(buildGraph(small), { prefix, maxConcurrent: 16 });
    if (!first.ok) throw new Error("initial run failed");
    const resume: number[] = [];
    for (let r = 0; r < runs; r++) {
      resume.push(await timeIt(async () => {
        const summary = await runGraph(buildGraph(small), { prefix, maxConcurrent: 16 });
        if (!summary.outcomes.every((o) => o.state === "skipped")) throw new Error("resume ran a step");
      }));
    }

    let commit = "unknown";
    try {
      commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
    } catch {}
    const result = {
      benchmark: "dag",
      commit,
      date: new Date().toISOString(),
      machine: "2 cores (shared, noisy)",
      node: process.version,
      runs,
      build_10k_steps_ms_median: Math.round(median(hashOnly)),
      dry_run_10k_steps_ms_median: Math.round(median(dryRun)),
      dry_run_target_ms: 2000,
      resume_1k_finished_steps_ms_median: Math.round(median(resume)),
      resume_target_ms: 1000,
      all_ms: { build: hashOnly.map(Math.round), dryRun: dryRun.map(Math.round), resume: resume.map(Math.round) },
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    const out = path.join(path.dirname(new URL(import.meta.url).pathname), "results", "dag.json");
    writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
    console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
