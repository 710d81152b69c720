/**
 * `minhashDedupStep`: global near-duplicate detection across any number of normalized sources, as
 * Dataset plans on the engine (dedup-plans.ts). Two documents are near-duplicates when the Jaccard
 * similarity of their word-shingle sets reaches `threshold` (default 0.65). MinHash signatures and
 * LSH bands (chosen from the threshold, banding.ts) find candidate pairs; each candidate pair is
 * verified on the exact shingle sets, and clusters are the connected components of the VERIFIED
 * edges only, so a document that merely shares one band with a cluster is not pulled into it.
 * With `verification: "none"`, star edges to each bucket's minimum are joined unchecked.
 *
 * Signatures use the one-permutation kernel (scheme "densified", one-permutation.ts) unless
 * `scheme: "universal"`. Each phase runs in the step's own thread when its data fits the memory
 * budget, and through the shuffle otherwise, with the same output: signed documents (small parts),
 * band buckets (documents × bands), verification (the pairs' shingle sets, one scan of the parts
 * instead of two joins per source) and components (union-find on the verified edges instead of
 * label-propagation rounds; `inMemoryPairs` bounds it, 0 sends every phase through the shuffle).
 * The result says which phases ran in memory and their CPU and wall seconds.
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
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { DEFAULT_MEMORY_BUDGET } from "../../shuffle/index.ts";
import { componentsOfEdges, componentsOfStars, filesIn, findCandidatePairs, signDocuments, signDocumentsInMemory, verifyCandidatePairs, writeAttributes, writeClusterRows, writeClusters, type PlanContext, type VerifiedEdges } from "./dedup-plans.ts";
import { bandEntriesFit, bucketCandidatePairs, candidatePairsInMemory, readCandidatePairs, signedDocumentsFit } from "./memory-candidates.ts";
import { inMemoryPairLimit, memoryComponents, type MemoryComponents } from "./memory-components.ts";
import { verifyInMemory } from "./memory-verification.ts";
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
  /**
   * Candidate pairs up to which the components are computed in the step's thread by union-find
   * (default: as many as fit in memoryBudgetBytes, about 400 bytes a pair); above it, by label
   * propagation through the shuffle. 0 always takes the shuffle. The output is the same either way.
   */
  inMemoryPairs?: number;
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
  /** Label rounds run after round 0, the last one changing nothing (0 when the components were computed in memory). */
  rounds: number;
  partitions: number;
  /** Cluster rows, relative to the step's output. */
  clusterFiles: string;
  /** True when the signed documents went straight to the step's thread (small parts; no scratch files). */
  signaturesInMemory: boolean;
  /** True when the band buckets were formed in the step's thread (every document's band keys fit in the memory budget). */
  candidatesInMemory: boolean;
  /** True when the components were computed in the step's thread (the candidate pairs fit in the memory budget). */
  componentsInMemory: boolean;
  /** True when the pairs were verified in the step's thread (pairs and their documents' shingle sets fit). */
  verificationInMemory: boolean;
  /** Wall seconds per phase: candidates (signatures, band keys, buckets), verification, components, attributes, clusters. */
  stageSeconds: Record<string, number>;
  /** CPU seconds of the process (every thread) per phase, as `stageSeconds`; other work in the process counts too. */
  stageCpuSeconds: Record<string, number>;
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
  const pairs = opts.inMemoryPairs;
  if (pairs !== undefined && !(Number.isSafeInteger(pairs) && pairs >= 0)) {
    throw new MinHashConfigError(`inMemoryPairs is ${pairs}`, "use a non-negative integer (0: components always by label propagation) or leave it out");
  }
  return resolveSettings(opts, `dedup step '${opts.name}'`);
}

/** Wall and process CPU seconds (every thread of the process) per phase of the step. */
class PhaseClock {
  readonly wall: Record<string, number> = {};
  readonly cpu: Record<string, number> = {};

  async time<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    try {
      return await work();
    } finally {
      const used = process.cpuUsage(cpu);
      this.wall[phase] = (this.wall[phase] ?? 0) + (performance.now() - wall) / 1000;
      this.cpu[phase] = (this.cpu[phase] ?? 0) + (used.user + used.system) / 1e6;
    }
  }
}

interface Clustered {
  user: Record<string, number>;
  rounds: number;
  /** The components computed in the step's thread, when the verified edges were collected. */
  memory?: MemoryComponents;
  /** True when the pairs were verified in the step's thread after one scan of the parts. */
  verifiedInMemory: boolean;
  /** True when the buckets were formed in the step's thread (no shuffle of band entries). */
  candidatesInMemory: boolean;
  /** True when the signed documents went straight to the step's thread (no scratch files). */
  signaturesInMemory: boolean;
}

/** Candidate pairs the buckets emitted (repeats across buckets included): an upper bound on the edges. */
function emittedPairs(user: Record<string, number>): number {
  return Object.entries(user).reduce((s, [k, v]) => (k.startsWith("pairs.b:") ? s + v : s), 0);
}

/** The components, from verified pairs or from star edges; user counters summed over every plan. */
async function cluster(p: PlanContext, clock: PhaseClock, pairLimit: number): Promise<Clustered> {
  const user: Record<string, number> = {};
  const add = (c: Record<string, number>) => Object.entries(c).forEach(([k, v]) => (user[k] = (user[k] ?? 0) + v));
  if (p.settings.verification === "none") {
    const components = await clock.time("components", () => componentsOfStars(p));
    add(components.user);
    user.verifiedPairs = user.candidatePairs ?? 0;
    return { user, rounds: components.loops[0]?.rounds ?? 0, verifiedInMemory: false, candidatesInMemory: false, signaturesInMemory: false };
  }
  const { verified, ...paths } = await verifyCandidates(p, clock, pairLimit, user);
  add(verified.counters);
  const edges = verified.edges;
  if (edges) {
    const memory = await clock.time("components", async () => memoryComponents(edges, p.sources.map((s) => s.name)));
    add(memory.counters);
    return { user, rounds: 0, memory, ...paths };
  }
  const components = await clock.time("components", () => componentsOfEdges(p));
  if (components) add(components.user);
  return { user, rounds: components?.loops[0]?.rounds ?? 0, ...paths };
}

/**
 * Signatures, candidate pairs and their verification, each in the step's thread when it fits; the
 * plans' counters are added to `user`.
 */
async function verifyCandidates(p: PlanContext, clock: PhaseClock, pairLimit: number, user: Record<string, number>): Promise<{ verified: VerifiedEdges; verifiedInMemory: boolean; candidatesInMemory: boolean; signaturesInMemory: boolean }> {
  const addInto = (c: Record<string, number>) => Object.entries(c).forEach(([k, v]) => (user[k] = (user[k] ?? 0) + v));
  const partBytes = p.sources.reduce((s, src) => s + src.parts.reduce((t, part) => t + part.size, 0), 0);
  if (pairLimit > 0 && signedDocumentsFit(partBytes, p.run.memoryBudgetBytes)) {
    const signed = await clock.time("signatures", () => signDocumentsInMemory(p));
    const pairs = await clock.time("candidates", async () => bucketCandidatePairs(signed.rows, p.settings.comparisonsPerMember));
    const verified = pairs.length <= pairLimit ? await clock.time("verification", () => verifyInMemory(p, pairs, signed.counters)) : undefined;
    if (verified) {
      addInto(signed.counters);
      return { verified, verifiedInMemory: true, candidatesInMemory: true, signaturesInMemory: true };
    }
  }
  addInto((await clock.time("signatures", () => signDocuments(p))).user);
  const documents = p.sources.reduce((s, _, i) => s + (user[`documents:${i}`] ?? 0), 0);
  if (pairLimit > 0 && bandEntriesFit(documents, p.settings.params.bands, p.run.memoryBudgetBytes)) {
    const pairs = await clock.time("candidates", () => candidatePairsInMemory(p));
    const verified = pairs.length <= pairLimit ? await clock.time("verification", () => verifyInMemory(p, pairs, user)) : undefined;
    if (verified) return { verified, verifiedInMemory: true, candidatesInMemory: true, signaturesInMemory: false };
  }
  const candidates = await clock.time("candidates", () => findCandidatePairs(p));
  addInto(candidates.user);
  const collect = emittedPairs(candidates.user) <= pairLimit;
  if (collect) {
    const verified = await clock.time("verification", async () => verifyInMemory(p, await readCandidatePairs(p, await filesIn(path.join(p.scratch, "pairs"))), user));
    if (verified) return { verified, verifiedInMemory: true, candidatesInMemory: false, signaturesInMemory: false };
  }
  return { verified: await clock.time("verification", () => verifyCandidatePairs(p, candidates.user, collect)), verifiedInMemory: false, candidatesInMemory: false, signaturesInMemory: false };
}

/** Attribute files of every source and the cluster rows; returns attribute records written and the clusters. */
async function writeOutputs(p: PlanContext, clustered: Clustered, clock: PhaseClock): Promise<{ records: number; clusters: number; sizes: Record<string, number> }> {
  const labels = clustered.memory?.labels;
  const written = await clock.time("attributes", () => Promise.all(p.sources.map((src, i) => writeAttributes(p, src, i, labels))));
  const memory = clustered.memory;
  const { clusters, sizes } = memory ? { clusters: await clock.time("clusters", () => writeClusterRows(p, memory.clusters)), sizes: memory.sizes } : await clock.time("clusters", () => writeClusters(p));
  return { records: written.reduce((s, n) => s + n, 0), clusters, sizes };
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
      inMemoryPairs: opts.inMemoryPairs ?? null,
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
        const clock = new PhaseClock();
        const clustered = await cluster(p, clock, inMemoryPairLimit(cfg.memoryBudgetBytes, cfg.inMemoryPairs ?? undefined));
        const { records, clusters, sizes } = await writeOutputs(p, clustered, clock);
        const result = summarize(settings, sources, clustered.user, { rounds: clustered.rounds, partitions, clusters, sizes, clock, inMemory: clustered.memory !== undefined, verifiedInMemory: clustered.verifiedInMemory, candidatesInMemory: clustered.candidatesInMemory, signaturesInMemory: clustered.signaturesInMemory });
        for (const key of ["documents", "emptyDocuments", "bandEntries", "candidatePairs", "verifiedPairs", "rejectedPairs", "clusters", "clusterMembers", "removals", "rounds"] as const) {
          ctx.counters.increment(key, result[key]);
        }
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
  facts: { rounds: number; partitions: number; clusters: number; sizes: Record<string, number>; clock: PhaseClock; inMemory: boolean; verifiedInMemory: boolean; candidatesInMemory: boolean; signaturesInMemory: boolean },
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
    signaturesInMemory: facts.signaturesInMemory,
    candidatesInMemory: facts.candidatesInMemory,
    componentsInMemory: facts.inMemory,
    verificationInMemory: facts.verifiedInMemory,
    stageSeconds: facts.clock.wall,
    stageCpuSeconds: facts.clock.cpu,
    sources: Object.fromEntries(
      sources.map((src, i) => [
        src.name,
        { parts: src.numParts, documents: perSource("documents", i), clusterMembers: perSource("members", i), nonCanonical: perSource("nonCanonical", i), attributes: `${src.name}/outputs/main` },
      ]),
    ),
  };
}
