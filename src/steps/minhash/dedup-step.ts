/**
 * `minhashDedupStep`: global near-duplicate detection across any number of normalized sources, as
 * Dataset plans on the engine (dedup-plans.ts). Two documents are near-duplicates when the Jaccard
 * similarity of their word-shingle sets reaches `threshold` (default 0.65). MinHash signatures and
 * LSH bands (chosen from the threshold, banding.ts) find candidate pairs; each candidate pair is
 * verified on the exact shingle sets, and clusters are the connected components of the VERIFIED
 * edges only, so a document that merely shares one band with a cluster is not pulled into it.
 * With `verification: "none"`, star edges to each bucket's minimum are joined unchecked.
 *
 * Output: per source, `<source name>/outputs/main/part-NNNNN-of-MMMMM.parquet` with typed columns
 * `{id, attributes: {dup_cluster_id, is_cluster_canonical}}` for every clustered document, sorted by
 * id and co-partitioned with the source's parts (a part without clustered documents gets an empty
 * file with the same schema); and `clusters/part-NNNNN-of-MMMMM.parquet`, one row per cluster
 * `{cluster_id, canonical_source, size}`. Graph nodes are (source index, id), so an exact copy in
 * two sources is two nodes; the canonical member of a cluster is the one from the earliest-listed
 * source with the smallest id, and `dup_cluster_id` is its id. Counters: candidatePairs,
 * verifiedPairs, rejectedPairs, removals. `memoryBudgetBytes` is one task's budget, divided by the
 * engine.
 */
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import type { DatasetCounters, StageCounters } from "../../dataset/index.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { DEFAULT_MEMORY_BUDGET } from "../../shuffle/index.ts";
import { componentsOfEdges, componentsOfStars, findCandidatePairs, verifyCandidatePairs, writeAttributes, writeClusters, type PlanContext } from "./dedup-plans.ts";
import { MinHashConfigError, MinHashInputError } from "./errors.ts";
import { resolveSettings, type NearDuplicateSettings, type ResolvedSettings } from "./settings.ts";
import type { MinHashParams } from "./signature.ts";
import { checkSourceName, listSourceParts, sourceInput, type NormalizedSource } from "./source-parts.ts";

export { DEDUP_ATTRIBUTE_SCHEMA, CLUSTER_SCHEMA } from "./dedup-plans.ts";

export interface MinHashDedupOptions extends NearDuplicateSettings {
  name: string;
  /** Normalized source steps by source name (a step means its outputs/main folder). Order matters: see canonical rule. */
  sources: Record<string, InputSpec>;
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
  threshold: number;
  params: MinHashParams;
  scheme: ResolvedSettings["scheme"];
  banding: ResolvedSettings["banding"];
  verification: ResolvedSettings["verification"];
  normalization: ResolvedSettings["normalization"];
  comparisonsPerMember: number;
  documents: number;
  emptyDocuments: number;
  textChars: number;
  bandEntries: number;
  /** Distinct pairs that shared a band bucket (star edges without verification). */
  candidatePairs: number;
  /** Candidate pairs whose exact Jaccard reached the threshold (= candidatePairs without verification). */
  verifiedPairs: number;
  rejectedPairs: number;
  clusters: number;
  /** Clusters by size class ("2", "3", "4-7", "8-15", …). */
  clusterSizes: Record<string, number>;
  clusterMembers: number;
  /** Cluster members that are not canonical: what a filter on is_cluster_canonical removes. */
  nonCanonical: number;
  removals: number;
  /** Label rounds run after round 0, the last one changing nothing. */
  rounds: number;
  partitions: number;
  /** Cluster rows, relative to the step's output. */
  clusterFiles: string;
  /** Wall seconds per phase: candidates (signatures and buckets), verification, components, attributes. */
  stageSeconds: Record<string, number>;
  sources: Record<string, DedupSourceResult>;
}

function checkOptions(opts: MinHashDedupOptions): ResolvedSettings {
  const names = Object.keys(opts.sources ?? {});
  if (names.length === 0) {
    throw new MinHashConfigError(`dedup step '${opts.name}' has no sources`, "pass sources: { name: normalizeStep, ... }");
  }
  names.forEach((n) => checkSourceName(n, `dedup step '${opts.name}'`));
  const budget = opts.memoryBudgetBytes;
  if (budget !== undefined && !(Number.isSafeInteger(budget) && budget >= 1024 * 1024)) {
    throw new MinHashConfigError(`memoryBudgetBytes is ${budget}`, "give each task at least 1 MiB (default 256 MiB)");
  }
  if (opts.partitions !== undefined && !(Number.isSafeInteger(opts.partitions) && opts.partitions >= 1)) {
    throw new MinHashConfigError(`partitions is ${opts.partitions}`, "use a positive integer or leave it out");
  }
  return resolveSettings(opts, `dedup step '${opts.name}'`);
}

const wallSeconds = (stages: StageCounters[]) => stages.reduce((s, st) => s + (st.wallMs ?? 0), 0) / 1000;

/** The components, from verified pairs or from star edges; user counters summed over every plan. */
async function cluster(p: PlanContext): Promise<{ user: Record<string, number>; rounds: number; seconds: Record<string, number> }> {
  const user: Record<string, number> = {};
  const add = (c: Record<string, number>) => Object.entries(c).forEach(([k, v]) => (user[k] = (user[k] ?? 0) + v));
  const seconds: Record<string, number> = {};
  let components: DatasetCounters | undefined;
  if (p.settings.verification === "exact") {
    const candidates = await findCandidatePairs(p);
    add(candidates.user);
    seconds.candidates = wallSeconds(candidates.stages);
    const started = performance.now();
    add(await verifyCandidatePairs(p, candidates.user));
    seconds.verification = (performance.now() - started) / 1000;
    components = await componentsOfEdges(p);
    seconds.components = components ? wallSeconds(components.stages) : 0;
  } else {
    components = await componentsOfStars(p);
    seconds.candidates = wallSeconds(components.stages.slice(0, 2));
    seconds.components = wallSeconds(components.stages.slice(2));
  }
  if (components) add(components.user);
  if (p.settings.verification === "none") user.verifiedPairs = user.candidatePairs ?? 0;
  return { user, rounds: components?.loops[0]?.rounds ?? 0, seconds };
}

export function minhashDedupStep(opts: MinHashDedupOptions) {
  const settings = checkOptions(opts);
  const sourceNames = Object.keys(opts.sources);
  return step({
    name: opts.name,
    config: {
      threshold: versioned(settings.threshold),
      params: versioned({ ...settings.params }),
      scheme: versioned(settings.scheme),
      verification: versioned(settings.verification),
      normalization: versioned({ ...settings.normalization }),
      comparisonsPerMember: versioned(settings.comparisonsPerMember),
      sourceOrder: versioned(sourceNames),
      format: versioned("kiln-dedup-attributes-v3"),
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
      const scratch = await mkdtemp(path.join(ctx.workDir, "minhash-"));
      const p: PlanContext = { ctx, sources, scratch, partitions, settings, maxRounds: cfg.maxRounds, run: { threads: cfg.threads ?? undefined, memoryBudgetBytes: cfg.memoryBudgetBytes } };
      try {
        const { bands, rows } = cfg.params;
        ctx.log(`threshold ${cfg.threshold}: ${bands} bands × ${rows} rows, verification ${cfg.verification}; ${totalParts} part(s) from ${sources.length} source(s), ${partitions} partition(s)`);
        const { user, rounds, seconds } = await cluster(p);
        const started = performance.now();
        const written = await Promise.all(sources.map((src, i) => writeAttributes(p, src, i)));
        const { clusters, sizes } = await writeClusters(p);
        seconds.attributes = (performance.now() - started) / 1000;
        const result = summarize(settings, sources, user, { rounds, partitions, clusters, sizes, seconds });
        for (const key of ["documents", "emptyDocuments", "bandEntries", "candidatePairs", "verifiedPairs", "rejectedPairs", "clusters", "clusterMembers", "removals", "rounds"] as const) {
          ctx.counters.increment(key, result[key]);
        }
        const records = written.reduce((s, n) => s + n, 0);
        if (records !== result.clusterMembers) {
          throw new MinHashInputError(`components hold ${result.clusterMembers} nodes but ${records} attribute records were written`, "this is a bug in the dedup step; report it with the step's log");
        }
        return result;
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  });
}

function summarize(
  settings: ResolvedSettings,
  sources: NormalizedSource[],
  user: Record<string, number>,
  facts: { rounds: number; partitions: number; clusters: number; sizes: Record<string, number>; seconds: Record<string, number> },
): MinHashDedupResult {
  const perSource = (name: string, i: number) => user[`${name}:${i}`] ?? 0;
  const total = (name: string) => sources.reduce((s, _, i) => s + perSource(name, i), 0);
  return {
    threshold: settings.threshold,
    params: settings.params,
    scheme: settings.scheme,
    banding: settings.banding,
    verification: settings.verification,
    normalization: settings.normalization,
    comparisonsPerMember: settings.comparisonsPerMember,
    documents: total("documents"),
    emptyDocuments: user.emptyDocuments ?? 0,
    textChars: user.textChars ?? 0,
    bandEntries: user.bandEntries ?? 0,
    candidatePairs: user.candidatePairs ?? 0,
    verifiedPairs: user.verifiedPairs ?? 0,
    rejectedPairs: user.rejectedPairs ?? 0,
    clusters: facts.clusters,
    clusterSizes: facts.sizes,
    clusterMembers: total("members"),
    nonCanonical: total("nonCanonical"),
    removals: total("nonCanonical"),
    rounds: facts.rounds,
    partitions: facts.partitions,
    clusterFiles: "clusters",
    stageSeconds: facts.seconds,
    sources: Object.fromEntries(
      sources.map((src, i) => [
        src.name,
        { parts: src.numParts, documents: perSource("documents", i), clusterMembers: perSource("members", i), nonCanonical: perSource("nonCanonical", i), attributes: `${src.name}/outputs/main` },
      ]),
    ),
  };
}
