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
 *   (0: the natural corpus only) [--out FILE]
 *   [--scheme densified|universal] (the signature kernel of the step and the reference; default densified)
 * Writes benchmarks/results/minhash-near-duplicates.json (or --out).
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
  DEFAULT_SCHEME,
  DEFAULT_THRESHOLD,
  MINHASH_SCHEMES,
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
  type MinHashScheme,
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

/** The signature kernel of every step run and reference run (--scheme). */
let scheme: MinHashScheme = DEFAULT_SCHEME;

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
  const ref = findNearDuplicates(docs, { threshold, scheme });
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

type Measured = Awaited<ReturnType<typeof runMeasured>>;

function stepSummary(r: Measured) {
  return {
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
  };
}

/** Natural corpus: materialise the sources, normalize in place, deduplicate at the defaults, compare with the exact self-join. */
async function naturalSection(sources: string | undefined, work: string, threads: number) {
  const wanted = sources?.split(",").map((s) => s.trim());
  const specs = listSources().filter((s) => s.kind === "embedded" && (wanted === undefined || wanted.includes(s.name)));
  if (wanted && specs.length !== wanted.length) throw new Error(`unknown embedded source among ${sources}`);
  const names = specs.map((s) => s.name);
  for (const spec of specs) await materializeSource(spec, path.join(work, "raw"));
  const normalized = Object.fromEntries(names.map((n) => [n, normalizeStep({ name: `normalized/${n}`, input: path.join(work, "raw", n, "*.jsonl"), threads })]));
  const prefix = path.join(work, "natural");
  const norm = await runGraph(buildGraph(Object.values(normalized)), { prefix });
  if (!norm.ok) throw norm.failed[0]?.error;
  const run = await runMeasured(minhashDedupStep({ name: "dedup/natural", sources: normalized, threads, scheme }), prefix, threads);
  const docs: Doc[] = [];
  for (const [i, n] of names.entries()) {
    const folder = norm.outcomes.find((o) => o.node.name === `normalized/${n}`)!.outputPath;
    for (const r of await rowsOf(path.join(folder, "outputs/main/*.parquet"))) docs.push({ id: nodeKey(i, String(r.id)), text: String(r.text) });
  }
  console.log(`natural: ${docs.length} documents; step ${run.cpuSeconds.toFixed(1)} CPU-s, ${run.result.removals} removals`);
  const sweep = SWEEP.map((t) => sweepRow(docs, t));
  const exact = Number(sweep.find((r) => r.threshold === DEFAULT_THRESHOLD)!.exact_component_removals);
  const stepRecordsKey = clustersKey(await stepRecords(run.outputPath, names));
  const section = {
    sources: names,
    documents: docs.length,
    step: stepSummary(run),
    exact_component_removals_at_default: exact,
    step_removals_vs_exact: round(run.result.removals / Math.max(1, exact)),
    step_equals_reference: stepRecordsKey === clustersKey(findNearDuplicates(docs, { scheme }).records),
    sweep,
  };
  return { run, docs, section, withinTenPercent: Math.abs(run.result.removals - exact) <= 0.1 * exact };
}

/** Copy set: distinct originals plus copies, spread over four sources, scored against the truth. */
async function copySection(naturalDocs: readonly Doc[], o: { originals: number; copies: number; percent: number; seed: number }, work: string, threads: number) {
  const originals = distinctOriginals(naturalDocs, o.originals);
  const truth = buildCopySet(originals, o);
  const parts = Array.from({ length: 4 }, (_, s) => truth.filter((_, i) => i % 4 === s));
  const sources = Object.fromEntries(parts.map((docs, s) => [`copies-${s}`, normalizedSourceStep(`copies-${s}`, docs, 2)]));
  const run = await runMeasured(minhashDedupStep({ name: "dedup/copies", sources, threads, scheme }), path.join(work, "copies"), threads);
  const records = await stepRecords(run.outputPath, Object.keys(sources));
  const truthByNode: LabelledDocument[] = parts.flatMap((docs, s) => docs.map((d) => ({ ...d, id: nodeKey(s, d.id) })));
  const score = scoreDedup(truthByNode, records);
  const docs: Doc[] = truthByNode.map((d) => ({ id: d.id, text: d.text }));
  console.log(`copies: ${truth.length} documents (${originals.length} originals); step precision ${score.precision.toFixed(4)} recall ${score.recall.toFixed(4)}, ${run.cpuSeconds.toFixed(1)} CPU-s`);
  const sweep = SWEEP.map((t) => sweepRow(docs, t, truthByNode));
  const section = {
    rule: `originals: natural documents of ≥ ${MIN_WORDS} words, none with exact Jaccard ≥ ${ORIGINALS_DISTINCT_BELOW} to an earlier one, at most ${o.originals} evenly spaced; each plus ${o.copies} copies with exactly ${o.percent} % of its words replaced (seed ${o.seed})`,
    originals: originals.length,
    documents: truth.length,
    step: { ...stepSummary(run), precision: round(score.precision), recall: round(score.recall), removable: score.removable },
    step_equals_reference: clustersKey(records) === clustersKey(findNearDuplicates(docs, { scheme }).records),
    removals_outside_exact_components_at_default: sweep.find((r) => r.threshold === DEFAULT_THRESHOLD)!.removals_outside_exact_components,
    sweep,
    other_percents_at_defaults: [1, 5].map((p) => {
      const set = buildCopySet(originals, { ...o, percent: p });
      return { percent: p, ...scoreOf(set, findNearDuplicates(set, { scheme })) };
    }),
    old_defaults_26x11_unverified: scoreOf(truthByNode, findNearDuplicates(docs, { params: MARIN_PARAMS, verification: "none" })),
  };
  return { section, goals: { copies_precision_at_least_0_98: score.precision >= 0.98, copies_recall_at_least_0_95: score.recall >= 0.95 } };
}

async function main(): Promise<void> {
  const options = {
    copies: { type: "string", default: "2" },
    percent: { type: "string", default: "3" },
    seed: { type: "string", default: "7" },
    threads: { type: "string", default: String(os.availableParallelism()) },
    sources: { type: "string" },
    originals: { type: "string", default: "1000" },
    out: { type: "string", default: path.join(import.meta.dirname, "results", "minhash-near-duplicates.json") },
    scheme: { type: "string", default: DEFAULT_SCHEME },
  } as const;
  const { values } = parseArgs({ options });
  const chosen = MINHASH_SCHEMES.find((m) => m === values.scheme);
  if (!chosen) throw new Error(`--scheme ${values.scheme}: use one of ${MINHASH_SCHEMES.join(", ")}`);
  scheme = chosen;
  const threads = Number(values.threads);
  const work = mkdtempSync(path.join(os.tmpdir(), "kiln-near-dups-"));
  try {
    const natural = await naturalSection(values.sources, work, threads);
    const copyOptions = { originals: Number(values.originals), copies: Number(values.copies), percent: Number(values.percent), seed: Number(values.seed) };
    const copies = copyOptions.originals > 0 ? await copySection(natural.docs, copyOptions, work, threads) : null;
    let commit = "unknown";
    try {
      commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
    } catch {}
    const params = natural.run.result;
    const result = {
      benchmark: "minhash-near-duplicates",
      commit,
      date: new Date().toISOString(),
      node: process.version,
      machine: `${os.availableParallelism()} cores shared with other jobs; CPU seconds of the whole process around each step run`,
      defaults: { scheme, threshold: DEFAULT_THRESHOLD, bands: params.params.bands, rows: params.params.rows, verification: params.verification, comparisonsPerMember: params.comparisonsPerMember },
      goals: { ...copies?.goals, natural_removals_within_10_percent_of_exact: natural.withinTenPercent },
      natural: natural.section,
      copies: copies?.section ?? null,
    };
    mkdirSync(path.dirname(values.out), { recursive: true });
    writeFileSync(values.out, JSON.stringify(result, null, 2) + "\n");
    console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
