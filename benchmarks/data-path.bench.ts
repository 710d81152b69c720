/**
 * `npm run bench:data`: the data path's speed and memory goals, each measured by its own benchmark
 * with its peer in the same run, one after the other (never side by side: the machine has 2 cores),
 * then one summary, benchmarks/results/data-path.json: per goal the measured value, the target, met or
 * not, and the file holding the details. Components:
 * - normalize with exact dedup vs DuckDB (normalize-dedup.bench.ts; KILN_DATA_NORMALIZE_BYTES, default 5e8);
 * - the MinHash dedup step (signatures through clusters, candidate pairs verified) and the signature
 *   kernel, each against the per-permutation universal-hash path in the same run (minhash-data.bench.ts);
 * - shuffle groupBy / dedup vs DuckDB and GNU sort (shuffle-groupby.bench.ts; KILN_DATA_SHUFFLE_BYTES, default 2e9);
 * - the tokenize step vs the bare encoder (tokenize-step.bench.ts);
 * - the fixed cost of a step on 1 MB (step-fixed-cost.bench.ts).
 * KILN_DATA_ONLY=normalize,shuffle,... runs a subset (the summary then reads the other components'
 * last results, and says from which commit each comes; `none` only writes the summary); KILN_BENCH_RUNS
 * is passed through (default 3).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { currentCommit } from "./support/commit.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = path.join(ROOT, "benchmarks/results");

interface Component {
  name: string;
  script: string;
  env: Record<string, string>;
  /** Result files it writes (relative to benchmarks/results). */
  results: string[];
}

const COMPONENTS: Component[] = [
  { name: "normalize", script: "normalize-dedup.bench.ts", env: { KILN_BENCH_BYTES: process.env.KILN_DATA_NORMALIZE_BYTES ?? "5e8" }, results: ["normalize-dedup.json"] },
  { name: "minhash", script: "minhash-data.bench.ts", env: {}, results: ["minhash-data.json"] },
  {
    name: "shuffle",
    script: "shuffle-groupby.bench.ts",
    env: { KILN_BENCH_BYTES: process.env.KILN_DATA_SHUFFLE_BYTES ?? "2e9", KILN_BENCH_OUT: "benchmarks/results/shuffle-groupby-2gb.json" },
    results: ["shuffle-groupby-2gb.json"],
  },
  { name: "tokenize", script: "tokenize-step.bench.ts", env: {}, results: ["tokenize-step.json"] },
  { name: "fixed-cost", script: "step-fixed-cost.bench.ts", env: {}, results: ["step-fixed-cost.json"] },
];

interface Goal {
  goal: string;
  measured: number | null;
  target: number;
  /** "at least" or "at most" the target. */
  direction: "min" | "max";
  unit: string;
  file: string;
  fileCommit: string | null;
  met: boolean | null;
  /** The same measure taken of the peer or of a bound, from the same run, where the file has one. */
  beside?: { what: string; measured: number | null };
}

/** Reads one result file (null when the component never ran). */
function resultOf(file: string): any {
  const p = path.join(RESULTS, file);
  return existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : null;
}

/** Looks a number up by a path of keys, null when any step is missing. */
function pick(obj: unknown, ...keys: (string | number)[]): number | null {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object") return null;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return typeof cur === "number" && Number.isFinite(cur) ? cur : null;
}

function goal(goalText: string, file: string, measured: number | null, target: number, direction: "min" | "max", unit: string): Goal {
  const data = resultOf(file);
  const met = measured === null ? null : direction === "min" ? measured >= target : measured <= target;
  return { goal: goalText, measured: measured === null ? null : +measured.toFixed(3), target, direction, unit, file, fileCommit: data?.commit ?? null, met };
}

function shuffleCase(data: any, op: string, dist: string): any {
  return Array.isArray(data?.cases) ? data.cases.find((c: any) => c.op === op && c.dist === dist) : undefined;
}

function goals(): Goal[] {
  const norm = resultOf("normalize-dedup.json");
  const kilnNorm = norm?.results?.find((r: any) => r.engine === "kiln");
  const mh = resultOf("minhash-data.json");
  const sh = resultOf("shuffle-groupby-2gb.json");
  const groupby = shuffleCase(sh, "groupby", "uniform");
  const dedup = shuffleCase(sh, "dedup", "uniform");
  const tok = resultOf("tokenize-step.json");
  const fixed = resultOf("step-fixed-cost.json");
  const inverse = (x: number | null) => (x === null || x === 0 ? null : 1 / x);
  return [
    goal("normalize throughput per CPU-s on >= 500 MB of mixed text", "normalize-dedup.json", pick(kilnNorm, "mbPerCpuSecond"), 45, "min", "MB per CPU-s"),
    goal("normalize peak RSS at the default budget", "normalize-dedup.json", pick(kilnNorm, "peakRssMB"), 512, "max", "MB"),
    goal("normalize per CPU-s vs DuckDB on the same job", "normalize-dedup.json", pick(norm, "ratios", "kilnVsDuckdbPerCpuSecond"), 0.5, "min", "ratio"),
    goal("MinHash dedup step at the defaults, with verification (3,000-document copy set)", "minhash-data.json", pick(mh, "end_to_end", "new", "docs_per_cpu_second"), 2000, "min", "documents per CPU-s"),
    goal("MinHash signature kernel on 5 KB documents", "minhash-data.json", pick(mh, "kernel", "new_densified", "signatures_per_cpu_s"), 5000, "min", "signatures per CPU-s"),
    goal("shuffle groupBy of 2 GB vs DuckDB, 2 threads (throughput ratio)", "shuffle-groupby-2gb.json", inverse(pick(groupby, "ratios", "kilnOverDuckdb")), 0.25, "min", "ratio"),
    goal("shuffle dedup of 2 GB vs GNU sort -u -S 512M (throughput ratio)", "shuffle-groupby-2gb.json", inverse(pick(dedup, "ratios", "kilnOverSort")), 1, "min", "ratio"),
    goal("tokenize step end to end vs the bare encoder per CPU-s, on the step's thread", "tokenize-step.json", pick(tok, "ratios", "kilnStepThreadVsBareEncoderPerCpuSecond"), 0.8, "min", "ratio"),
    goal("tokenize step end to end vs the bare encoder per CPU-s, one worker thread", "tokenize-step.json", pick(tok, "ratios", "kiln1ThreadVsBareEncoderPerCpuSecond"), 0.8, "min", "ratio"),
    {
      ...goal("tokenize step scaling from 1 to 2 threads (wall)", "tokenize-step.json", pick(tok, "ratios", "kiln2ThreadsVs1Thread"), 1.7, "min", "ratio"),
      beside: { what: "the bare encoder alone from 1 to 2 worker threads", measured: pick(tok, "ratios", "bareEncoder2ThreadsVs1Thread") },
    },
    goal("fixed cost: a normalize step on 1 MB in a running process", "step-fixed-cost.json", pick(fixed, "normalize", "warmStepCpuSeconds"), 1, "max", "CPU-s"),
    goal("fixed cost: a tokenize step on 1 MB in a running process", "step-fixed-cost.json", pick(fixed, "tokenize", "warmStepCpuSeconds"), 1, "max", "CPU-s"),
    goal("fixed cost: a tokenize step on 1 MB in a fresh process (tokenize-step.json)", "tokenize-step.json", pick(tok, "fixedCost", "runs", "default", "medianCpuSeconds"), 1, "max", "CPU-s"),
    goal("fixed cost: the first step of a process on 1 MB (start-up included)", "step-fixed-cost.json", pick(fixed, "normalize", "firstStepCpuSeconds"), 1, "max", "CPU-s"),
    goal("fixed cost: a map with a user's function (its module imports kiln) on 1 MB as a process's first work", "step-fixed-cost.json", pick(fixed, "userFunction", "firstWorkCpuSeconds"), 1, "max", "CPU-s"),
  ];
}

function main(): void {
  const only = process.env.KILN_DATA_ONLY?.split(",").map((s) => s.trim());
  const unknown = only?.filter((n) => n !== "none" && !COMPONENTS.some((c) => c.name === n)) ?? [];
  if (unknown.length) {
    console.error(`KILN_DATA_ONLY names unknown component(s) ${unknown.join(", ")}; known: ${COMPONENTS.map((c) => c.name).join(", ")}`);
    process.exit(2);
  }
  const ran: { name: string; seconds: number; exitCode: number | null }[] = [];
  for (const c of COMPONENTS.filter((x) => !only || only.includes(x.name))) {
    console.log(`\n== ${c.name}: benchmarks/${c.script} ${Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    const start = performance.now();
    const child = spawnSync(process.execPath, ["--import", "tsx", path.join("benchmarks", c.script)], { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...c.env } });
    ran.push({ name: c.name, seconds: +((performance.now() - start) / 1000).toFixed(1), exitCode: child.status });
    if (child.status !== 0) console.error(`${c.name} failed (exit ${child.status}); the summary keeps its last result, if any`);
  }
  const summary = {
    benchmark: "data-path",
    commit: currentCommit(),
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverageAtEnd: os.loadavg().map((x) => +x.toFixed(2)) },
    ran,
    goals: goals(),
  };
  writeFileSync(path.join(RESULTS, "data-path.json"), JSON.stringify(summary, null, 2) + "\n");
  console.log("\n" + summary.goals.map((g) => `${g.met === null ? "n/a " : g.met ? "met " : "NOT "} ${g.goal}: ${g.measured ?? "-"} ${g.unit} (target ${g.direction === "min" ? ">=" : "<="} ${g.target})${g.beside ? `; ${g.beside.what}: ${g.beside.measured ?? "-"}` : ""}`).join("\n"));
  if (ran.some((r) => r.exitCode !== 0)) process.exitCode = 1;
}

main();
