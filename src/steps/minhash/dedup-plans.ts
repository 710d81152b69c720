/**
 * The Dataset plans of the MinHash dedup step (functions in dedup-functions.ts and
 * verify-functions.ts), each run with `runDataset` inside the step:
 *   signatures   every source part → one record per document with its band keys → the step's thread
 *                when the parts are small (memory-candidates.ts), else scratch `signed/`;
 *   candidates   in the step's thread when every document's band keys fit in memory
 *                (memory-candidates.ts); otherwise the signed documents → band entries →
 *                partitionBy(band key, sorted by node) → candidate pairs per bucket → scratch `pairs/`;
 *   verification in memory when the pairs and their documents' shingle sets fit (one scan of the
 *                parts, memory-verification.ts); otherwise per source (see verify-functions.ts): pairs joined with a's parts (a's shingles
 *                attached) → `attached/<source>/`; those joined with b's parts, exact Jaccard ≥
 *                threshold → the step's thread when every candidate pair fits in the memory budget
 *                (components by union-find there, memory-components.ts), else `edges/<source>/`;
 *   components   verified edges (or, without verification, star edges straight from the buckets)
 *                → groupBy(node) with the adjacency merged on the map side → round-0 states →
 *                label-propagation rounds until no label changes → one label row per clustered
 *                document → scratch `labels/`;
 *   attributes   per source: its labels (from scratch or from memory) → partitionBy(id, M_source) → joined with the ids of its
 *                parts (every label must find its document) → `<source>/outputs/main/<part name>`;
 *   clusters     labels counted per cluster (or the rows counted in memory) →
 *                `clusters/part-NNNNN-of-MMMMM.parquet`, one row per cluster
 *                `{cluster_id, canonical_source, size}`.
 */
import path from "node:path";
import { Dataset, fn, runDataset, type DatasetCounters, type DatasetStepContext, type OutputSchema } from "../../dataset/index.ts";
import { expandInputs } from "../../io/formats.ts";
import { MinHashInputError } from "./errors.ts";
import {
  DEDUP_FUNCTIONS as F,
  applyMessages,
  bandEntries,
  bandKeyOf,
  bucketEdges,
  bucketPairs,
  clusterIdOf,
  clusterLabels,
  clusterRow,
  edgeAdjacency,
  entriesOfDocument,
  firstState,
  idOf,
  labelCluster,
  labelId,
  mergeAdjacency,
  messageTo,
  nodeOf,
  ofSource,
  signedDocuments,
  stateMessages,
  toAttributes,
  type AdjacencyEntry,
  type CandidatePair,
  type ClusterLabel,
  type SignedDocument,
} from "./dedup-functions.ts";
import type { ClusterRow } from "./memory-components.ts";
import type { ResolvedSettings } from "./settings.ts";
import { attributeDir, type NormalizedSource } from "./source-parts.ts";
import { VERIFY_FUNCTIONS as V, attachShingles, idOfA, idOfB, nodeA, nodeB, pairInSource, verifyPairs, type PairWithShingles } from "./verify-functions.ts";

/** The attribute files' columns (typed, so DuckDB and pandas see a boolean and a string). */
export const DEDUP_ATTRIBUTE_SCHEMA: OutputSchema = { id: "string", attributes: { struct: { dup_cluster_id: "string", is_cluster_canonical: "bool" } } };
/** One row per cluster: its id (the canonical document's id), the canonical's source, its size. */
export const CLUSTER_SCHEMA: OutputSchema = { cluster_id: "string", canonical_source: "string", size: "int64" };

export type StepContext = DatasetStepContext & { outputPath: string };
export interface RunSettings {
  threads?: number;
  memoryBudgetBytes: number;
}

/** What one plan needs: the step, its sources, its scratch folder and how to run. */
export interface PlanContext {
  ctx: StepContext;
  sources: NormalizedSource[];
  scratch: string;
  run: RunSettings;
  partitions: number;
  settings: ResolvedSettings;
  maxRounds: number;
}

function allParts(p: PlanContext): string[] {
  return p.sources.flatMap((s) => s.parts.map((part) => part.path));
}

function bandArgs(p: PlanContext) {
  return { params: p.settings.params, scheme: p.settings.scheme, normalization: p.settings.normalization, dirs: p.sources.map((s) => s.dir) };
}

function bandEntriesOf(p: PlanContext) {
  return Dataset.read(allParts(p))
    .select("id", "text")
    .flatMap(fn(F, bandEntries, bandArgs(p)))
    .partitionBy(fn(F, bandKeyOf), { sortBy: fn(F, nodeOf), numShards: p.partitions });
}

function signedOf(p: PlanContext): Dataset<SignedDocument> {
  return Dataset.read(allParts(p)).select("id", "text").flatMap(fn(F, signedDocuments, bandArgs(p)));
}

/** Every document's band keys into `<scratch>/signed/` (map only); the counters count documents per source. */
export async function signDocuments(p: PlanContext): Promise<DatasetCounters> {
  const plan = signedOf(p).write(path.join(p.scratch, "signed", "part-{shard}.jsonl.zst"));
  return (await runDataset(p.ctx, plan, { ...p.run, label: "signatures" })).counters;
}

/** Every document's band keys, returned to the step's thread, with the plan's user counters. */
export async function signDocumentsInMemory(p: PlanContext): Promise<{ rows: SignedDocument[]; counters: Record<string, number> }> {
  const { rows, counters } = await runDataset(p.ctx, signedOf(p), { ...p.run, label: "signatures" });
  return { rows, counters: counters.user };
}

/** The signed documents of `signDocuments` (none: an empty dataset). */
export async function signedFromScratch(p: PlanContext): Promise<{ docs: Dataset<SignedDocument> }> {
  const files = await filesIn(path.join(p.scratch, "signed"));
  return { docs: files.length > 0 ? Dataset.read<SignedDocument>(files) : Dataset.fromItems<SignedDocument>([]) };
}

/** Candidate pairs of every bucket (shuffled by band key) into `<scratch>/pairs/`; the counters tell which sources have pairs on which side. */
export async function findCandidatePairs(p: PlanContext): Promise<DatasetCounters> {
  const plan = (await signedFromScratch(p)).docs
    .flatMap(fn(F, entriesOfDocument))
    .partitionBy(fn(F, bandKeyOf), { sortBy: fn(F, nodeOf), numShards: p.partitions })
    .flatMap(fn(F, bucketPairs, { comparisonsPerMember: p.settings.comparisonsPerMember }))
    .write(path.join(p.scratch, "pairs", "part-{shard}.jsonl.zst"));
  return (await runDataset(p.ctx, plan, { ...p.run, label: "candidates" })).counters;
}

export async function filesIn(folder: string): Promise<string[]> {
  try {
    return (await expandInputs(path.join(folder, "**/*.jsonl.zst"), { splitBytes: Number.MAX_SAFE_INTEGER })).map((s) => s.path);
  } catch {
    return [];
  }
}

function docsOf(src: NormalizedSource) {
  return Dataset.read<{ id: string; text: string }>(src.parts.map((part) => part.path)).select("id", "text");
}

export interface VerifiedEdges {
  /** Summed user counters of the verification plans. */
  counters: Record<string, number>;
  /** The verified edges when collected (see `collect`); otherwise they are in `<scratch>/edges/`. */
  edges?: CandidatePair[];
}

/**
 * Verifies the candidate pairs: per source with pairs on that side, a join with its parts; the edges
 * that reach the threshold are returned when `collect` is true, else written to `<scratch>/edges/`.
 */
export async function verifyCandidatePairs(p: PlanContext, pairCounts: Record<string, number>, collect: boolean): Promise<VerifiedEdges> {
  const shingles = { ngram: p.settings.params.ngram, normalization: p.settings.normalization };
  const totals: Record<string, number> = {};
  const add = (c: DatasetCounters) => Object.entries(c.user).forEach(([k, v]) => (totals[k] = (totals[k] ?? 0) + v));
  const pairs = await filesIn(path.join(p.scratch, "pairs"));
  const withPairs = (side: "a" | "b") => p.sources.map((src, i) => ({ src, i })).filter(({ i }) => (pairCounts[`pairs.${side}:${i}`] ?? 0) > 0);
  await Promise.all(
    withPairs("a").map(async ({ src, i }) => {
      const plan = Dataset.read<{ a: string; b: string }>(pairs)
        .filter(fn(V, pairInSource, { side: "a", source: i }))
        .partitionBy(fn(V, idOfA), { sortBy: fn(V, nodeB), numShards: src.numParts })
        .sortedMergeJoin(docsOf(src), { leftKey: fn(V, idOfA), rightKey: fn(F, idOf), how: "left" })
        .flatMap(fn(V, attachShingles, shingles))
        .write(path.join(p.scratch, "attached", String(i), "part-{shard}.jsonl.zst"));
      add((await runDataset(p.ctx, plan, { ...p.run, label: `verify.${src.name}.first` })).counters);
    }),
  );
  const attached = await filesIn(path.join(p.scratch, "attached"));
  const edges: CandidatePair[] = [];
  await Promise.all(
    withPairs("b").map(async ({ src, i }) => {
      const verified = Dataset.read<PairWithShingles>(attached)
        .filter(fn(V, pairInSource, { side: "b", source: i }))
        .partitionBy(fn(V, idOfB), { sortBy: fn(V, nodeA), numShards: src.numParts })
        .sortedMergeJoin(docsOf(src), { leftKey: fn(V, idOfB), rightKey: fn(F, idOf), how: "left" })
        .flatMap(fn(V, verifyPairs, { ...shingles, threshold: p.settings.threshold }));
      const label = `verify.${src.name}.second`;
      if (collect) {
        const { rows, counters } = await runDataset(p.ctx, verified, { ...p.run, label });
        for (const edge of rows) edges.push(edge);
        add(counters);
      } else {
        const plan = verified.write(path.join(p.scratch, "edges", String(i), "part-{shard}.jsonl.zst"));
        add((await runDataset(p.ctx, plan, { ...p.run, label })).counters);
      }
    }),
  );
  return collect ? { counters: totals, edges } : { counters: totals };
}

/** Label propagation over adjacency entries, ending in label rows written to `<scratch>/labels/`. */
function labelsOf(p: PlanContext, adjacency: Dataset<AdjacencyEntry>) {
  return adjacency
    .groupBy(fn(F, nodeOf), fn(F, firstState), { combiner: fn(F, mergeAdjacency), numShards: p.partitions })
    .iterate((round) => round.flatMap(fn(F, stateMessages)).groupBy(fn(F, messageTo), fn(F, applyMessages), { numShards: p.partitions }), { until: "changed", maxRounds: p.maxRounds })
    .flatMap(fn(F, clusterLabels))
    .write(path.join(p.scratch, "labels", "part-{shard}.jsonl.zst"));
}

/** Components of the verified edges (none: nothing is clustered). */
export async function componentsOfEdges(p: PlanContext): Promise<DatasetCounters | undefined> {
  const edges = await filesIn(path.join(p.scratch, "edges"));
  if (edges.length === 0) return undefined;
  const plan = labelsOf(p, Dataset.read<{ a: string; b: string }>(edges).flatMap(fn(F, edgeAdjacency)));
  return (await runDataset(p.ctx, plan, { ...p.run, label: "components" })).counters;
}

/** Without verification: star edges from the buckets straight into the components, one plan. */
export async function componentsOfStars(p: PlanContext): Promise<DatasetCounters> {
  const plan = labelsOf(p, bandEntriesOf(p).flatMap(fn(F, bucketEdges, {})));
  return (await runDataset(p.ctx, plan, { ...p.run, label: "components" })).counters;
}

/** Every label written to `<scratch>/labels/` (none: an empty dataset). */
async function labelsFromScratch(p: PlanContext): Promise<{ labels: Dataset<ClusterLabel> }> {
  const files = await filesIn(path.join(p.scratch, "labels"));
  return { labels: files.length > 0 ? Dataset.read<ClusterLabel>(files) : Dataset.fromItems<ClusterLabel>([]) };
}

/** One source's attribute files: its labels partitioned like its parts and checked against their ids. */
export async function writeAttributes(p: PlanContext, src: NormalizedSource, index: number, inMemory?: ClusterLabel[]): Promise<number> {
  const ids = Dataset.read<{ id: string }>(src.parts.map((part) => part.path)).select("id");
  const from = inMemory ? Dataset.fromItems(inMemory.filter((label) => label.s === index)) : (await labelsFromScratch(p)).labels.filter(fn(F, ofSource, { source: index }));
  const attributes = from
    .partitionBy(fn(F, labelId), { numShards: src.numParts })
    .sortedMergeJoin(ids, { leftKey: fn(F, labelId), rightKey: fn(F, idOf), how: "left" })
    .map(fn(F, toAttributes))
    .write(path.join(attributeDir(p.ctx.outputPath, src.name), "part-{shard}-of-{total}.parquet"), { schema: DEDUP_ATTRIBUTE_SCHEMA });
  const { files } = await runDataset(p.ctx, attributes, { ...p.run, label: `attributes.${src.name}` });
  return files.reduce((s, f) => s + Math.max(0, f.rows), 0);
}

const clusterFiles = (p: PlanContext) => path.join(p.ctx.outputPath, "clusters", "part-{shard}-of-{total}.parquet");
const rowCount = (files: { rows: number }[]) => files.reduce((s, f) => s + Math.max(0, f.rows), 0);

/** One row per cluster in `clusters/`, with counters of cluster sizes; returns the number of clusters. */
export async function writeClusters(p: PlanContext): Promise<{ clusters: number; sizes: Record<string, number> }> {
  const plan = (await labelsFromScratch(p)).labels
    .countByKey(fn(F, labelCluster), { numShards: p.partitions })
    .map(fn(F, clusterRow, { sources: p.sources.map((s) => s.name) }))
    .write(clusterFiles(p), { schema: CLUSTER_SCHEMA });
  const { counters, files } = await runDataset(p.ctx, plan, { ...p.run, label: "clusters" });
  const clusters = rowCount(files);
  const sizes: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters.user)) if (k.startsWith("clusterSize:")) sizes[k.slice("clusterSize:".length)] = v;
  if (clusters !== Object.values(sizes).reduce((s, v) => s + v, 0)) {
    throw new MinHashInputError(`${clusters} cluster rows were written but the size counters hold ${JSON.stringify(sizes)}`, "this is a bug in the dedup step; report it with the step's log");
  }
  return { clusters, sizes };
}

/** The cluster rows counted in memory, written in `p.partitions` files like the shuffle path's. */
export async function writeClusterRows(p: PlanContext, rows: ClusterRow[]): Promise<number> {
  const plan = Dataset.fromItems(rows)
    .partitionBy(fn(F, clusterIdOf), { numShards: p.partitions })
    .write(clusterFiles(p), { schema: CLUSTER_SCHEMA });
  return rowCount((await runDataset(p.ctx, plan, { ...p.run, label: "clusters" })).files);
}
