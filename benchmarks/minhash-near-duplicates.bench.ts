/**
 * Near-duplicate detection against ground truth and against the exact answer, on the embedded
 * corpus (Brown by genre family, SpamAssassin ham and spam, nlp-corpus, JS/TS code):
 * - natural: every embedded source, materialised as JSONL, normalized in place (exact dedup per
 *   source) and deduplicated by the MinHash step at its defaults. Its removals are compared with the
 *   exact "keep one per Jaccard ≥ threshold component" count (an exact self-join over the same
 *   normalized documents, graph nodes (source, id) as in the step), and the removals outside every
 *   exact component are counted.
 * - copies: the natural documents of at least 100 words, minus every one whose exact Jaccard with
 *   an earlier one is ≥ 0.5 (so that the originals are distinct for every threshold of the sweep),
 *   at most `--originals` of them (default 1000, evenly spaced over the list), each plus `--copies`
 *   copies with exactly `--percent` % of its words replaced by corpus words (buildCopySet). Precision / recall of removals against the truth (a removal is right when a
 *   document of the same original survives), through the step at the defaults, and through the
 *   in-memory reference (the same algorithm, checked equal to the step at the defaults) for a
 *   sweep of thresholds and for 1 % and 5 % replaced; the old defaults (26 × 11 bands, star edges,
 *   no verification) for comparison.
 * CPU seconds are of the whole process (every thread) around each step run; docs per CPU-second
 * of the step is documents in / CPU seconds.
 * Run: node --import tsx benchmarks/minhash-near-duplicates.bench.ts [--copies 2] [--percent 3] [--seed 7] [--threads N]
 *   [--sources brown-press,spam-assassin-ham,...] (default: every embedded source) [--originals 1000]
 * Writes benchmarks/results/minhash-near-duplicates.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildGraph, runGraph } from "../src/index.ts";
import type { AnyStep } from "../src/graph/step.ts";
import { expandInputs, readSplit } from "../src/io/formats.ts";
import {
  DEFAULT_THRESHOLD,
  MARIN_PARAMS,
  MinHasher,
  buildCopySet,
  exactComponents,
  exactRemovals,
  exactSimilarPairs,
  findNearDuplicates,
  minhashDedupStep,
  nodeKey,
  removalsOutsideExactComponents,
  scoreDedup,
  type DupClusterRecord,
  type LabelledDocument,
  type MinHashDedupResult,
  type NearDuplicateResult,
} from "../src/steps/minhash/index.ts";
import { normalizeStep } from "../src/steps/normalize/index.ts";
import { listSources, materializeSource } from "../src/steps/sources/index.ts";
import { normalizedSourceStep } from "../test/steps/minhash/normalized-fixture.ts";

const SWEEP = [...new Set([0.5, 0.6, DEFAULT_THRESHOLD, 0.7, 0.8, 0.9])].sort((a, b) => a - b);
const ORIGINALS_DISTINCT_BELOW = 0.5;
const MIN_WORDS = 100;
const round = (x: number, digits = 4) => +x.toFixed(digits);

interface Doc {
  id: string;
  text: string;
}

async function runMeasured(target: AnyStep, prefix: string, threads: number): Promise<{ result: MinHashDedupResult; outputPath: string; cpuSeconds: number; wallSeconds: number }> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const summary = await runGraph(buildGraph([target]), { prefix, maxConcurrent: threads });
  const used = process.cpuUsage(cpu);
  if (!summary.ok) throw summary.failed[0]?.error ?? new Error("step failed");
  const out = summary.outcomes.find((o) => o.node.name === target.name)!;
  return { result: out.result as MinHashDedupResult, outputPath: out.outputPath, cpuSeconds: (used.user + used.system) / 1e6, wallSeconds: (performance.now() - wall) / 1000 };
}

async function rowsOf(glob: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const split of await expandInputs(glob, { splitBytes: Number.MAX_SAFE_INTEGER })) for await (const b of readSplit(split)) rows.push(...(b.rows as Record<string, unknown>[]));
  return rows;
}

/**
 * Cluster records of every source of a step output, with node keys (source index, id) for ids and
 * cluster ids: a cluster id names its canonical member, the one record marked canonical with that id.
 */
async function stepRecords(outputPath: string, sources: string[]): Promise<DupClusterRecord[]> {
  const raw: { node: string; cluster: string; canonical: boolean }[] = [];
  for (const [i, name] of sources.entries()) {
    for (const r of await rowsOf(path.join(outputPath, name, "outputs/main/*.parquet"))) {
      const attributes = r.attributes as DupClusterRecord["attributes"];
      raw.push({ node: nodeKey(i, String(r.id)), cluster: attributes.dup_cluster_id, canonical: attributes.is_cluster_canonical });
    }
  }
  const canonicalNode = new Map(raw.filter((r) => r.canonical).map((r) => [r.cluster, r.node]));
  return raw.map((r) => ({ id: r.node, attributes: { dup_cluster_id: canonicalNode.get(r.cluster) ?? `missing:${r.cluster}`, is_cluster_canonical: r.canonical } }));
}

/** Removed node → its cluster's canonical node, from reference records (ids are node keys). */
function removedOf(records: readonly DupClusterRecord[]): Map<string, string> {
  return new Map(records.filter((r) => !r.attributes.is_cluster_canonical).map((r) => [r.id, r.attributes.dup_cluster_id]));
}

function clustersKey(records: readonly DupClusterRecord[]): string {
  const groups = new Map<string, string[]>();
  for (const r of records) groups.set(r.attributes.dup_cluster_id, [...(groups.get(r.attributes.dup_cluster_id) ?? []), r.id]);
  return [...groups.values()].map((g) => g.sort().join(",")).sort().join("|");
}

/** One threshold of the sweep: the reference's removals against the exact self-join (and the truth, when given). */
function sweepRow(docs: readonly Doc[], threshold: number, truth?: readonly LabelledDocument[]): Record<string, unknown> {
  const started = performance.now();
  const ref = findNearDuplicates(docs, { threshold });
  const seconds = (performance.now() - started) / 1000;
  const hasher = new MinHasher(ref.settings.params, ref.settings.normalization);
  const exact = exactComponents(docs.map((d) => d.id), docs.map((d) => hasher.shingleHashes(d.text)), threshold);
  const ideal = exactRemovals(exact);
  const row: Record<string, unknown> = {
    threshold,
    bands: ref.settings.params.bands,
    rows: ref.settings.params.rows,
    candidate_pairs: ref.candidatePairs,
    verified_pairs: ref.edges.length,
    removals: ref.removed.size,
    exact_component_removals: ideal,
    removals_vs_exact: round(ideal === 0 ? 1 : ref.removed.size / ideal),
    removals_outside_exact_components: removalsOutsideExactComponents(removedOf(ref.records), exact),
    reference_seconds: round(seconds, 2),
  };
  if (truth) {
    const score = scoreDedup(truth, ref.records);
    Object.assign(row, { precision: round(score.precision), recall: round(score.recall), removable: score.removable, true_positives: score.truePositives });
  }
  return row;
}

/** The originals: documents of at least MIN_WORDS words, none with exact Jaccard ≥ 0.5 to an earlier one. */
function distinctOriginals(docs: readonly Doc[], atMost: number): string[] {
  const long = docs.filter((d) => d.text.split(/\s+/).filter(Boolean).length >= MIN_WORDS);
  const hasher = new MinHasher();
  const dropped = new Set<number>();
  for (const p of exactSimilarPairs(long.map((d) => hasher.shingleHashes(d.text)), ORIGINALS_DISTINCT_BELOW)) dropped.add(p.j);
  const distinct = long.filter((_, i) => !dropped.has(i)).map((d) => d.text);
  if (distinct.length <= atMost) return distinct;
  return Array.from({ length: atMost }, (_, k) => distinct[Math.floor((k * distinct.length) / atMost)]);
}

function scoreOf(truth: readonly LabelledDocument[], ref: NearDuplicateResult): { precision: number; recall: number; removed: number } {
  const s = scoreDedup(truth, ref.records);
  return { precision: round(s.precision), recall: round(s.recall), removed: s.removed };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { copies: { type: "string", default: "2" }, percent: { type: "string", default: "3" }, seed: { type: "string", default: "7" }, threads: { type: "string", default: String(os.availableParallelism()) }, sources: { type: "string" }, originals: { type: "string", default: "1000" } } });
  const copies = Number(values.copies);
  const percent = Number(values.percent);
  const seed = Number(values.seed);
  const threads = Number(values.threads);
  const work = mkdtempSync(path.join(os.tmpdir(), "kiln-near-dups-"));
  try {
    // Natural corpus: materialise, normalize in place, deduplicate at the defaults.
    const wanted = values.sources?.split(",").map((s) => s.trim());
    const specs = listSources().filter((s) => s.kind === "embedded" && (wanted === undefined || wanted.includes(s.name)));
    if (wanted && specs.length !== wanted.length) throw new Error(`unknown embedded source among ${values.sources}`);
    const names = specs.map((s) => s.name);
    for (const spec of specs) await materializeSource(spec, path.join(work, "raw"));
    const normalized = Object.fromEntries(names.map((n) => [n, normalizeStep({ name: `normalized/${n}`, input: path.join(work, "raw", n, "*.jsonl"), threads })]));
    const naturalPrefix = path.join(work, "natural");
    const norm = await runGraph(buildGraph(Object.values(normalized)), { prefix: naturalPrefix });
    if (!norm.ok) throw norm.failed[0]?.error;
    const natural = await runMeasured(minhashDedupStep({ name: "dedup/natural", sources: normalized, threads }), naturalPrefix, threads);
    const naturalDocs: Doc[] = [];
    for (const [i, n] of names.entries()) {
      const folder = norm.outcomes.find((o) => o.node.name === `normalized/${n}`)!.outputPath;
      for (const r of await rowsOf(path.join(folder, "outputs/main/*.parquet"))) naturalDocs.push({ id: nodeKey(i, String(r.id)), text: String(r.text) });
    }
    console.log(`natural: ${naturalDocs.length} documents; step ${natural.cpuSeconds.toFixed(1)} CPU-s, ${natural.result.removals} removals`);
    const naturalSweep = SWEEP.map((t) => sweepRow(naturalDocs, t));
    const naturalReference = findNearDuplicates(naturalDocs);
    const naturalStepRecords = await stepRecords(natural.outputPath, names);

    // Copy set: distinct originals plus copies, spread over four sources.
    const originals = distinctOriginals(naturalDocs, Number(values.originals));
    const truth = buildCopySet(originals, { copies, percent, seed });
    const parts = Array.from({ length: 4 }, (_, s) => truth.filter((_, i) => i % 4 === s));
    const copySources = Object.fromEntries(parts.map((docs, s) => [`copies-${s}`, normalizedSourceStep(`copies-${s}`, docs, 2)]));
    const copyRun = await runMeasured(minhashDedupStep({ name: "dedup/copies", sources: copySources, threads }), path.join(work, "copies"), threads);
    const copyRecords = await stepRecords(copyRun.outputPath, Object.keys(copySources));
    const byNode = new Map(parts.flatMap((docs, s) => docs.map((d) => [nodeKey(s, d.id), d] as const)));
    const truthByNode: LabelledDocument[] = [...byNode].map(([node, d]) => ({ ...d, id: node }));
    const copyStepScore = scoreDedup(truthByNode, copyRecords);
    const copyDocs: Doc[] = truthByNode.map((d) => ({ id: d.id, text: d.text }));
    const copyReference = findNearDuplicates(copyDocs);
    console.log(`copies: ${truth.length} documents (${originals.length} originals); step precision ${copyStepScore.precision.toFixed(4)} recall ${copyStepScore.recall.toFixed(4)}, ${copyRun.cpuSeconds.toFixed(1)} CPU-s`);
    const copySweep = SWEEP.map((t) => sweepRow(copyDocs, t, truthByNode));
    const otherPercents = [1, 5].map((p) => {
      const set = buildCopySet(originals, { copies, percent: p, seed });
      return { percent: p, ...scoreOf(set, findNearDuplicates(set)) };
    });
    const oldDefaults = scoreOf(truthByNode, findNearDuplicates(copyDocs, { params: MARIN_PARAMS, verification: "none" }));

    let commit = "unknown";
    try {
      commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
    } catch {}
    const stepSummary = (r: Awaited<ReturnType<typeof runMeasured>>) => ({
      documents: r.result.documents,
      cpu_seconds: round(r.cpuSeconds, 2),
      wall_seconds: round(r.wallSeconds, 2),
      docs_per_cpu_second: Math.round(r.result.documents / r.cpuSeconds),
      candidate_pairs: r.result.candidatePairs,
      verified_pairs: r.result.verifiedPairs,
      rejected_pairs: r.result.rejectedPairs,
      clusters: r.result.clusters,
      removals: r.result.removals,
      rounds: r.result.rounds,
      stage_seconds: Object.fromEntries(Object.entries(r.result.stageSeconds).map(([k, v]) => [k, round(v, 2)])),
    });
    const naturalExact = naturalSweep.find((r) => r.threshold === DEFAULT_THRESHOLD)!;
    const copyDefault = copySweep.find((r) => r.threshold === DEFAULT_THRESHOLD)!;
    const result = {
      benchmark: "minhash-near-duplicates",
      commit,
      date: new Date().toISOString(),
      node: process.version,
      machine: `${os.availableParallelism()} cores shared with other jobs; CPU seconds of the whole process around each step run`,
      defaults: { threshold: DEFAULT_THRESHOLD, bands: natural.result.params.bands, rows: natural.result.params.rows, verification: natural.result.verification, comparisonsPerMember: natural.result.comparisonsPerMember },
      goals: {
        copies_precision_at_least_0_98: copyStepScore.precision >= 0.98,
        copies_recall_at_least_0_95: copyStepScore.recall >= 0.95,
        natural_removals_within_10_percent_of_exact: Math.abs(natural.result.removals / Number(naturalExact.exact_component_removals) - 1) <= 0.1,
      },
      natural: {
        sources: names,
        documents: naturalDocs.length,
        step: stepSummary(natural),
        exact_component_removals_at_default: naturalExact.exact_component_removals,
        step_removals_vs_exact: round(natural.result.removals / Math.max(1, Number(naturalExact.exact_component_removals))),
        step_equals_reference: clustersKey(naturalStepRecords) === clustersKey(naturalReference.records),
        sweep: naturalSweep,
      },
      copies: {
        rule: `originals: natural documents of ≥ ${MIN_WORDS} words, none with exact Jaccard ≥ ${ORIGINALS_DISTINCT_BELOW} to an earlier one, at most ${values.originals} evenly spaced; each plus ${copies} copies with exactly ${percent} % of its words replaced (seed ${seed})`,
        originals: originals.length,
        documents: truth.length,
        step: { ...stepSummary(copyRun), precision: round(copyStepScore.precision), recall: round(copyStepScore.recall), removable: copyStepScore.removable },
        step_equals_reference: clustersKey(copyRecords) === clustersKey(copyReference.records),
        removals_outside_exact_components_at_default: copyDefault.removals_outside_exact_components,
        sweep: copySweep,
        other_percents_at_defaults: otherPercents,
        old_defaults_26x11_unverified: oldDefaults,
      },
    };
    mkdirSync(path.join(import.meta.dirname, "results"), { recursive: true });
    writeFileSync(path.join(import.meta.dirname, "results", "minhash-near-duplicates.json"), JSON.stringify(result, null, 2) + "\n");
    console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
