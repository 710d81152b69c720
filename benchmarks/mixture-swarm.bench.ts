/**
 * The mixture swarm end to end (`npm run swarm`: pipelines/mixture-swarm.ts on five embedded
 * sources) into a fresh prefix, measured from outside with GNU time: wall time, user + system CPU
 * of kiln and every PyTorch child process it waited for, peak RSS of the largest process; then the
 * second run (every step skipped). From the steps' results: swarm size, proxy size and tokens, the
 * out-of-fold ρ, regret@1, seed noise, the proposal, and the verification gains with their standard
 * errors, whatever they turn out to be. One run: the whole swarm takes most of half an hour here.
 * KILN_SWARM_PROFILE=micro measures the micro profile instead; KILN_BENCH_PREFIX keeps the outputs.
 * Run: npm run bench:swarm   (writes benchmarks/results/mixture-swarm.json, or mixture-swarm-micro.json)
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

interface TimedRun {
  code: number | null;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  stdout: string;
  stderr: string;
}

const TIME_FORMAT = "KILN-TIME %e %U %S %M";

function timedKilnRun(prefix: string): Promise<TimedRun> {
  const args = ["-f", TIME_FORMAT, process.execPath, "bin/kiln.mjs", "run", "pipelines/mixture-swarm.ts", "--prefix", prefix, "--max-concurrent", "2"];
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const m = /KILN-TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      if (!m) return reject(new Error(`no timing line from /usr/bin/time:\n${stderr.slice(-2000)}`));
      resolve({ code, wallSeconds: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]), peakRssMB: Number(m[4]) / 1024, stdout, stderr });
    });
  });
}

function stepInfos(prefix: string, folder: string): Array<{ name: string; durationMs: number; result: any }> {
  const dir = path.join(prefix, folder);
  return readdirSync(dir).flatMap((d) => {
    try {
      const info = JSON.parse(readFileSync(path.join(dir, d, ".kiln/info.json"), "utf8"));
      return [{ name: info.name, durationMs: info.durationMs, result: info.result }];
    } catch {
      return [];
    }
  });
}

const one = (prefix: string, folder: string, name: string) => {
  const hit = stepInfos(prefix, folder).find((s) => s.name === name);
  if (!hit) throw new Error(`no finished step ${name} under ${prefix}/${folder}`);
  return hit;
};

const round = (x: number, digits = 4) => Number(x.toFixed(digits));
const profile = process.env.KILN_SWARM_PROFILE ?? "full";
const keep = process.env.KILN_BENCH_PREFIX;
const prefix = keep ?? mkdtempSync(path.join(tmpdir(), "kiln-swarm-bench-"));
try {
  const first = await timedKilnRun(prefix);
  if (first.code !== 0) throw new Error(`the swarm failed:\n${first.stderr.slice(-3000)}`);
  const second = await timedKilnRun(prefix);
  if (second.code !== 0 || !/ran 0, skipped/.test(second.stderr)) throw new Error("the second run did not skip every step");
  const plan = one(prefix, "swarm", "swarm/plan").result;
  const fit = one(prefix, "swarm", "swarm/fit").result;
  const summary = one(prefix, "swarm", "swarm/summary").result;
  const trains = stepInfos(prefix, "swarm/train").filter((s) => !("skipped" in s.result));
  const evals = stepInfos(prefix, "swarm/eval");
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
  } catch {}
  const result = {
    benchmark: "mixture-swarm",
    profile,
    commit,
    date: new Date().toISOString(),
    machine: "2 shared cores",
    node: process.version,
    command: "kiln run pipelines/mixture-swarm.ts --max-concurrent 2 (npm run swarm)",
    sources: plan.sources,
    swarm_size: plan.sampling.size,
    proxy_runs: trains.length,
    proxy_tokens: plan.feasible.proxyTokens,
    proxy_max_tokens_per_source: plan.feasible.proxyMaxTokens,
    target_tokens: plan.feasible.targetTokens,
    proxy_train_seconds_total: round(sum(trains.map((t) => t.durationMs / 1000)), 1),
    proxy_eval_seconds_total: round(sum(evals.map((t) => t.durationMs / 1000)), 1),
    proxy_tokens_per_s_median: round(trains.map((t) => t.result.tokensPerS).sort((a, b) => a - b)[Math.floor(trains.length / 2)], 0),
    wall_seconds: round(first.wallSeconds, 1),
    cpu_seconds: round(first.cpuSeconds, 1),
    peak_rss_mb: round(first.peakRssMB, 0),
    second_run_wall_seconds: round(second.wallSeconds, 1),
    out_of_fold_spearman: round(fit.fit.outOfFoldSpearman),
    per_source_out_of_fold_spearman: Object.fromEntries(Object.entries(fit.fit.metrics).map(([s, m]: [string, any]) => [s, round(m.outOfFoldSpearman)])),
    regret_at_1: round(fit.fit.regretAt1, 5),
    seed_noise_sd: round(fit.seedNoise.standardDeviation, 5),
    status: summary.status,
    proposal: summary.proposed,
    verification: summary.verification.gains.map((g: any) => ({ baseline: g.baseline, gain: round(g.mean, 5), standard_error: round(g.standardError, 5), per_seed: g.gains.map((x: number) => round(x, 5)), beats_by_2_se: g.beats })),
    measured: summary.verification.measured,
    reason: summary.reason,
  };
  const file = path.join("benchmarks", "results", profile === "full" ? "mixture-swarm.json" : `mixture-swarm-${profile}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
} finally {
  if (!keep) rmSync(prefix, { recursive: true, force: true });
}
