/**
 * `minhashDedupStep`: global fuzzy deduplication across any number of normalized sources, as Dataset
 * plans on the engine (functions in dedup-functions.ts):
 *   components  read every source part → band entries → partitionBy(band key, sorted by node) →
 *               star edges per bucket (optionally verified by exact Jaccard) → groupBy(node) with the
 *               adjacency merged on the map side → round-0 states → iterate label-propagation rounds
 *               (flatMap messages, groupBy recipient) until no label changes → one label row per
 *               clustered document, written to the step's scratch folder;
 *   attributes  per source: its labels → partitionBy(id, M_source) → joined with the ids of its parts
 *               (every label must find its document) → `<source name>/outputs/main/part-NNNNN-of-MMMMM.parquet`
 *               with typed columns `{id, attributes: {dup_cluster_id, is_cluster_canonical}}`, sorted
 *               by id; a part without clustered documents gets an empty file with the same schema.
 * Graph nodes are (source index, id), so an exact copy in two sources is two nodes; the canonical
 * member of a cluster is the one from the earliest-listed source with the smallest id, and
 * `dup_cluster_id` is its id. `memoryBudgetBytes` is one task's budget, divided by the engine.
 */
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { Dataset, fn, runDataset, type DatasetStepContext, type OutputSchema, type StageCounters } from "../../dataset/index.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { DEFAULT_MEMORY_BUDGET } from "../../shuffle/index.ts";
import { MinHashConfigError, MinHashInputError } from "./errors.ts";
import { MARIN_PARAMS, validateMinHashParams, type MinHashParams } from "./signature.ts";
import { attributeDir, checkSourceName, listSourceParts, sourceInput, type NormalizedSource } from "./source-parts.ts";
import {
  DEDUP_FUNCTIONS as F,
  applyMessages,
  bandEntries,
  bandKeyOf,
  bucketEdges,
  clusterLabels,
  firstState,
  idOf,
  labelId,
  mergeAdjacency,
  messageTo,
  nodeOf,
  ofSource,
  stateMessages,
  toAttributes,
  type ClusterLabel,
} from "./dedup-functions.ts";

export interface MinHashDedupOptions {
  name: string;
  /** Normalized source steps by source name (a step means its outputs/main folder). Order matters: see canonical rule. */
  sources: Record<string, InputSpec>;
  /** MinHash parameters; default MARIN_PARAMS (286 = 26 bands × 11 rows, 5-word shingles, seed 1). */
  params?: Partial<MinHashParams>;
  /** Keep a candidate edge only if the exact Jaccard of the two shingle sets is at least this. */
  verifyThreshold?: number;
  /** Memory budget of one task in bytes (default 256 MiB), divided by the engine. */
  memoryBudgetBytes?: number;
  /** Band-key and node partitions (default: the total number of source parts). */
  partitions?: number;
  /** Worker threads (default: the run's shared pool of every core; 0 = in the step's thread). */
  threads?: number;
  /** Label-propagation rounds before giving up (default 500). */
  maxRounds?: number;
}

export interface DedupSourceResult {
  parts: number;
  documents: number;
  clusterMembers: number;
  nonCanonical: number;
  /** Attribute folder relative to the step's output. */
  attributes: string;
}

export interface MinHashDedupResult {
  params: MinHashParams;
  verifyThreshold: number | null;
  documents: number;
  emptyDocuments: number;
  textChars: number;
  bandEntries: number;
  candidateEdges: number;
  rejectedEdges: number;
  clusters: number;
  clusterMembers: number;
  nonCanonical: number;
  /** Label rounds run after round 0, the last one changing nothing. */
  rounds: number;
  partitions: number;
  /** Wall seconds per phase: signatures, buckets, components, join. */
  stageSeconds: Record<string, number>;
  sources: Record<string, DedupSourceResult>;
}

/** The attribute files' columns (typed, so DuckDB and pandas see a boolean and a string). */
export const DEDUP_ATTRIBUTE_SCHEMA: OutputSchema = { id: "string", attributes: { struct: { dup_cluster_id: "string", is_cluster_canonical: "bool" } } };

function checkOptions(opts: MinHashDedupOptions): void {
  const names = Object.keys(opts.sources ?? {});
  if (names.length === 0) {
    throw new MinHashConfigError(`dedup step '${opts.name}' has no sources`, "pass sources: { name: normalizeStep, ... }");
  }
  names.forEach((n) => checkSourceName(n, `dedup step '${opts.name}'`));
  const v = opts.verifyThreshold;
  if (v !== undefined && !(v > 0 && v <= 1)) {
    throw new MinHashConfigError(`verifyThreshold is ${v}`, "set verifyThreshold to a Jaccard similarity in (0, 1], or leave it out");
  }
  const budget = opts.memoryBudgetBytes;
  if (budget !== undefined && !(Number.isSafeInteger(budget) && budget >= 1024 * 1024)) {
    throw new MinHashConfigError(`memoryBudgetBytes is ${budget}`, "give each task at least 1 MiB (default 256 MiB)");
  }
  if (opts.partitions !== undefined && !(Number.isSafeInteger(opts.partitions) && opts.partitions >= 1)) {
    throw new MinHashConfigError(`partitions is ${opts.partitions}`, "use a positive integer or leave it out");
  }
}

const sum = (stages: StageCounters[], from: number, to: number) => stages.slice(from, to).reduce((s, st) => s + (st.wallMs ?? 0), 0) / 1000;

export function minhashDedupStep(opts: MinHashDedupOptions) {
  checkOptions(opts);
  const sourceNames = Object.keys(opts.sources);
  const params = validateMinHashParams(opts.params ?? MARIN_PARAMS);
  return step({
    name: opts.name,
    config: {
      params: versioned({ ...params }),
      verifyThreshold: versioned(opts.verifyThreshold ?? null),
      sourceOrder: versioned(sourceNames),
      format: versioned("kiln-dedup-attributes-v2"),
      memoryBudgetBytes: opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET,
      partitions: opts.partitions ?? null,
      threads: opts.threads ?? null,
      maxRounds: opts.maxRounds ?? 500,
    },
    inputs: Object.fromEntries(sourceNames.map((n) => [n, sourceInput(opts.sources[n])])),
    run: async (ctx): Promise<MinHashDedupResult> => {
      const cfg = ctx.config;
      const sources: NormalizedSource[] = [];
      for (const n of sourceNames) sources.push(await listSourceParts(n, ctx.inputs[n].path));
      const totalParts = sources.reduce((s, src) => s + src.numParts, 0);
      const partitions = cfg.partitions ?? Math.max(1, totalParts);
      const run = { threads: cfg.threads ?? undefined, memoryBudgetBytes: cfg.memoryBudgetBytes };
      const scratch = await mkdtemp(path.join(ctx.workDir, "minhash-labels-"));
      try {
        ctx.log(`signatures of ${totalParts} part(s) from ${sources.length} source(s), ${partitions} partition(s)`);
        const verify = cfg.verifyThreshold;
        const labels = Dataset.read(sources.flatMap((s) => s.parts.map((p) => p.path)))
          .select("id", "text")
          .flatMap(fn(F, bandEntries, { params: cfg.params, verify: verify !== null, dirs: sources.map((s) => s.dir) }))
          .partitionBy(fn(F, bandKeyOf), { sortBy: fn(F, nodeOf), numShards: partitions })
          .flatMap(fn(F, bucketEdges, { verifyThreshold: verify }))
          .groupBy(fn(F, nodeOf), fn(F, firstState), { combiner: fn(F, mergeAdjacency), numShards: partitions })
          .iterate((round) => round.flatMap(fn(F, stateMessages)).groupBy(fn(F, messageTo), fn(F, applyMessages), { numShards: partitions }), { until: "changed", maxRounds: cfg.maxRounds })
          .flatMap(fn(F, clusterLabels))
          .write(path.join(scratch, "part-{shard}.jsonl.zst"));
        const components = await runDataset(ctx, labels, { ...run, label: "components" });
        const attributes = await Promise.all(sources.map((src, i) => writeAttributes(ctx, src, i, scratch, run)));
        const user = components.counters.user;
        const stages = components.counters.stages;
        const rounds = components.counters.loops[0]?.rounds ?? 0;
        const perSource = (name: string, i: number) => user[`${name}:${i}`] ?? 0;
        const result: MinHashDedupResult = {
          params: cfg.params,
          verifyThreshold: verify,
          documents: sources.reduce((s, _, i) => s + perSource("documents", i), 0),
          emptyDocuments: user.emptyDocuments ?? 0,
          textChars: user.textChars ?? 0,
          bandEntries: user.bandEntries ?? 0,
          candidateEdges: user.candidateEdges ?? 0,
          rejectedEdges: user.rejectedEdges ?? 0,
          clusters: 0,
          clusterMembers: sources.reduce((s, _, i) => s + perSource("members", i), 0),
          nonCanonical: sources.reduce((s, _, i) => s + perSource("nonCanonical", i), 0),
          rounds,
          partitions,
          stageSeconds: { signatures: sum(stages, 0, 1), buckets: sum(stages, 1, 2), components: sum(stages, 2, stages.length), join: attributes.reduce((s, a) => s + a.seconds, 0) },
          sources: Object.fromEntries(
            sources.map((src, i) => [
              src.name,
              { parts: src.numParts, documents: perSource("documents", i), clusterMembers: perSource("members", i), nonCanonical: perSource("nonCanonical", i), attributes: `${src.name}/outputs/main` },
            ]),
          ),
        };
        result.clusters = result.clusterMembers - result.nonCanonical;
        for (const key of ["documents", "emptyDocuments", "bandEntries", "candidateEdges", "rejectedEdges", "clusters", "clusterMembers", "nonCanonical", "rounds"] as const) {
          ctx.counters.increment(key, result[key]);
        }
        const written = attributes.reduce((s, a) => s + a.records, 0);
        if (written !== result.clusterMembers) {
          throw new MinHashInputError(`components hold ${result.clusterMembers} nodes but ${written} attribute records were written`, "this is a bug in the dedup step; report it with the step's log");
        }
        return result;
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  });
}

/** One source's attribute files: its labels partitioned like its parts and checked against their ids. */
async function writeAttributes(
  ctx: DatasetStepContext & { outputPath: string },
  src: NormalizedSource,
  index: number,
  labelsDir: string,
  run: { threads?: number; memoryBudgetBytes: number },
): Promise<{ records: number; seconds: number }> {
  const started = performance.now();
  const ids = Dataset.read<{ id: string }>(src.parts.map((p) => p.path)).select("id");
  const attributes = Dataset.read<ClusterLabel>(path.join(labelsDir, "*.jsonl.zst"))
    .filter(fn(F, ofSource, { source: index }))
    .partitionBy(fn(F, labelId), { numShards: src.numParts })
    .sortedMergeJoin(ids, { leftKey: fn(F, labelId), rightKey: fn(F, idOf), how: "left" })
    .map(fn(F, toAttributes))
    .write(path.join(attributeDir(ctx.outputPath, src.name), "part-{shard}-of-{total}.parquet"), { schema: DEDUP_ATTRIBUTE_SCHEMA });
  const { files } = await runDataset(ctx, attributes, { ...run, label: `attributes.${src.name}` });
  return { records: files.reduce((s, f) => s + Math.max(0, f.rows), 0), seconds: (performance.now() - started) / 1000 };
}
