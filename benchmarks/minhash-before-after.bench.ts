/**
 * Speed and accuracy of the MinHash dedup step at its defaults on one fixed labelled input, meant to
 * be run by two checkouts of kiln on the same input file (it uses only the step, the graph runner
 * and the normalized-source test fixture, which both sides have):
 *   --write-input FILE   builds the input: Brown documents of ≥ 200 words, each plus `--copies`
 *                        copies with `--percent` % of its words replaced (buildCopySet, seeded),
 *                        as JSON lines {id, text, group};
 *   --input FILE         runs the step at its defaults over the input spread over 4 normalized
 *                        sources of 2 parts, in this process, `--runs` times; reports CPU seconds
 *                        of the whole process (every thread) and wall seconds per run, docs per
 *                        CPU-second (median run), removals, precision and recall against the groups
 *                        (a removal is right when its cluster's canonical document has its group),
 *                        and the step's own phase breakdown (CPU and wall seconds per phase, label
 *                        rounds, whether the components were computed in memory) where it reports one.
 *   --options JSON       extra options of the step (e.g. other bands and rows, to compare the two
 *                        checkouts at equal precision and recall).
 * Writes `--out` (default benchmarks/results/minhash-before-after.json) with the commit.
 * Run: node --import tsx benchmarks/minhash-before-after.bench.ts --write-input /tmp/copies.jsonl
 *      node --import tsx benchmarks/minhash-before-after.bench.ts --input /tmp/copies.jsonl --label after
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildGraph, runGraph } from "../src/index.ts";
import { minhashDedupStep } from "../src/steps/minhash/index.ts";
import { normalizedSourceStep, readParquetFiles } from "../test/steps/minhash/normalized-fixture.ts";

interface InputDoc {
  id: string;
  text: string;
  group: number;
}

const SOURCES = 4;

async function writeInput(file: string, copies: number, percent: number, seed: number): Promise<void> {
  const { buildCopySet } = await import("../src/steps/minhash/index.ts");
  const { brownDocuments } = await import("../test/steps/minhash/corpora.ts");
  const docs = buildCopySet(brownDocuments({ minWords: 200 }), { copies, percent, seed });
  writeFileSync(file, docs.map((d) => JSON.stringify({ id: d.id, text: d.text, group: d.group })).join("\n") + "\n");
  console.log(`${docs.length} documents written to ${file}`);
}

/** Precision and recall of removals (see the file header); ids are unique across sources. */
function score(docs: readonly InputDoc[], records: readonly Record<string, any>[]) {
  const group = new Map(docs.map((d) => [d.id, d.group]));
  const sizes = new Map<number, number>();
  for (const d of docs) sizes.set(d.group, (sizes.get(d.group) ?? 0) + 1);
  const removable = [...sizes.values()].reduce((s, n) => s + n - 1, 0);
  const removed = records.filter((r) => !r.attributes.is_cluster_canonical);
  const right = removed.filter((r) => group.get(r.id) === group.get(r.attributes.dup_cluster_id)).length;
  return { removals: removed.length, removable, precision: removed.length ? right / removed.length : 1, recall: right / removable };
}

async function runOnce(docs: readonly InputDoc[], run: number, options: Record<string, unknown>) {
  const work = mkdtempSync(path.join(os.tmpdir(), "kiln-dedup-ab-"));
  try {
    const names = Array.from({ length: SOURCES }, (_, s) => `s${s}`);
    const sources = Object.fromEntries(names.map((n, s) => [n, normalizedSourceStep(`${n}-${run}`, docs.filter((_, i) => i % SOURCES === s), 2)]));
    const prepared = await runGraph(buildGraph(Object.values(sources)), { prefix: work });
    if (!prepared.ok) throw prepared.failed[0]?.error;
    const target = minhashDedupStep({ ...options, name: "dedup/ab", sources, threads: os.availableParallelism() });
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const summary = await runGraph(buildGraph([target]), { prefix: work });
    const used = process.cpuUsage(cpu);
    const wallSeconds = (performance.now() - wall) / 1000;
    if (!summary.ok) throw summary.failed[0]?.error;
    const outputPath = summary.outcomes.find((o) => o.node.name === target.name)!.outputPath;
    const records: Record<string, any>[] = [];
    for (const n of names) for (const rows of (await readParquetFiles(path.join(outputPath, n, "outputs/main/*.parquet"))).values()) records.push(...rows);
    const result = summary.outcomes.find((o) => o.node.name === target.name)!.result as Record<string, unknown>;
    const phases = { rounds: result.rounds, signaturesInMemory: result.signaturesInMemory, candidatesInMemory: result.candidatesInMemory, componentsInMemory: result.componentsInMemory, verificationInMemory: result.verificationInMemory, stageCpuSeconds: result.stageCpuSeconds, stageSeconds: result.stageSeconds };
    return { cpuSeconds: (used.user + used.system) / 1e6, wallSeconds, ...score(docs, records), ...phases };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "write-input": { type: "string" },
      input: { type: "string" },
      label: { type: "string", default: "run" },
      options: { type: "string", default: "{}" },
      runs: { type: "string", default: "3" },
      copies: { type: "string", default: "2" },
      percent: { type: "string", default: "3" },
      seed: { type: "string", default: "7" },
      out: { type: "string", default: path.join(import.meta.dirname, "results", "minhash-before-after.json") },
    },
  });
  if (values["write-input"]) return writeInput(values["write-input"], Number(values.copies), Number(values.percent), Number(values.seed));
  if (!values.input) throw new Error("give --write-input FILE or --input FILE");
  const docs: InputDoc[] = readFileSync(values.input, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const runs = [];
  for (let r = 0; r < Number(values.runs); r++) {
    runs.push(await runOnce(docs, r, JSON.parse(values.options)));
    console.log(JSON.stringify(runs.at(-1)));
  }
  const median = [...runs].sort((a, b) => a.cpuSeconds - b.cpuSeconds)[Math.floor(runs.length / 2)];
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: import.meta.dirname }).toString().trim();
  } catch {}
  const result = {
    benchmark: "minhash-before-after",
    label: values.label,
    commit,
    date: new Date().toISOString(),
    node: process.version,
    machine: `${os.availableParallelism()} cores shared with other jobs`,
    input: { file: path.basename(values.input), documents: docs.length },
    options: JSON.parse(values.options),
    docs_per_cpu_second: Math.round(docs.length / median.cpuSeconds),
    median,
    runs,
  };
  writeFileSync(values.out, JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
}

await main();
