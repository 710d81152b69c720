/**
 * `minhashDedupStep`: global fuzzy deduplication across any number of normalized sources, run
 * through the shuffle library stage by stage (each stage one task per shard, its output committed
 * under `<output>/.work/<stage>` and removed at the end):
 *   1. signatures: per source part, MinHash signature → band keys, scattered by band key;
 *   2. buckets: per band partition, star edges member ↔ bucket minimum (optional exact-Jaccard check);
 *   3. components: iterated min-label propagation, one scatter/reduce per round over node
 *      partitions, until a round changes no label (no task ever holds the whole graph);
 *   4. join: labels scattered to each source by partitionOf(id, M_source) and merged with the part.
 * Output (per source, co-partitioned with it): `<source name>/outputs/main/part-NNNNN-of-MMMMM.parquet`,
 * records `{id, attributes: {dup_cluster_id, is_cluster_canonical}}` sorted by id; documents in no
 * cluster have no record; a part with no clustered document gets an empty file. The canonical member
 * of a cluster is the one from the earliest-listed source with the smallest id; `dup_cluster_id` is
 * its id. Memory: `memoryBudgetBytes` is one task's budget, half of it given to the shuffle (scatter
 * buffers, merges, spilling beyond it); tasks run `threads` at a time.
 */
import { availableParallelism } from "node:os";
import pLimit from "p-limit";
import { createTaskPool } from "../task-pool.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { fileSystemFor, joinPath } from "../../io/index.ts";
import { DEFAULT_MEMORY_BUDGET } from "../../shuffle/index.ts";
import { MinHashConfigError, MinHashInputError } from "./errors.ts";
import { MARIN_PARAMS, validateMinHashParams, type MinHashParams } from "./signature.ts";
import { attributeDir, checkSourceName, listSourceParts, sourceInput, type NormalizedSource } from "./source-parts.ts";
import {
  attributeTask,
  bucketTask,
  joinScatterTask,
  propagateTask,
  signatureTask,
  type SignatureTaskArgs,
  type SignatureTaskResult,
} from "./dedup-tasks.ts";

export interface MinHashDedupOptions {
  name: string;
  /** Normalized source steps by source name (a step means its outputs/main folder). Order matters: see canonical rule. */
  sources: Record<string, InputSpec>;
  /** MinHash parameters; default MARIN_PARAMS (286 = 26 bands × 11 rows, 5-word shingles, seed 1). */
  params?: Partial<MinHashParams>;
  /** Keep a candidate edge only if the exact Jaccard of the two shingle sets is at least this. */
  verifyThreshold?: number;
  /** Memory budget of each task's shuffle buffers and merges, bytes (default 256 MiB). */
  memoryBudgetBytes?: number;
  /** Band-key and node partitions (default: the total number of source parts). */
  partitions?: number;
  /** Worker threads for the signature stage (default: every core; 0 = in the step's thread). */
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
  /** Wall seconds per stage: signatures, buckets, components, join. */
  stageSeconds: Record<string, number>;
  sources: Record<string, DedupSourceResult>;
}

const pad = (n: number, width = 5) => String(n).padStart(width, "0");

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
      format: versioned("kiln-dedup-attributes-v1"),
      memoryBudgetBytes: opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET,
      partitions: opts.partitions ?? null,
      threads: opts.threads ?? null,
      maxRounds: opts.maxRounds ?? 500,
    },
    inputs: Object.fromEntries(sourceNames.map((n) => [n, sourceInput(opts.sources[n])])) as Record<string, InputSpec>,
    run: async (ctx): Promise<MinHashDedupResult> => {
      const inputs = ctx.inputs as Record<string, { path: string }>;
      // Half of a task's budget goes to the shuffle's buffers and merges; the rest covers the parquet
      // row group being read, compression buffers and the attribute file being written.
      const budget = Math.floor((ctx.config.memoryBudgetBytes as number) / 2);
      const verifyThreshold = ctx.config.verifyThreshold as number | null;
      const sources: NormalizedSource[] = [];
      for (const n of sourceNames) sources.push(await listSourceParts(n, inputs[n].path));
      const totalParts = sources.reduce((s, src) => s + src.numParts, 0);
      const partitions = (ctx.config.partitions as number | null) ?? Math.max(1, totalParts);
      const threads = (ctx.config.threads as number | null) ?? availableParallelism();
      const limit = pLimit(Math.max(1, threads));
      const work = ctx.path(".work");
      const range = [...Array(partitions).keys()];
      const fs = fileSystemFor(work);

      const stageSeconds: Record<string, number> = {};
      let clock = performance.now();
      const lap = (stage: string) => {
        const now = performance.now();
        stageSeconds[stage] = (now - clock) / 1000;
        clock = now;
      };
      // 1. Signatures and band keys.
      const bandsDir = joinPath(work, "bands");
      const sigTasks: SignatureTaskArgs[] = sources.flatMap((src, sourceIndex) =>
        src.parts.map((part) => ({ part, sourceIndex, params, bandPartitions: partitions, bandsDir, memoryBudgetBytes: budget, verify: verifyThreshold !== null })),
      );
      ctx.log(`signatures of ${sigTasks.length} part(s) from ${sources.length} source(s) on ${Math.max(1, Math.min(threads, sigTasks.length))} thread(s)`);
      const pool = createTaskPool(new URL("./dedup-worker.mjs", import.meta.url), threads, ctx.signal);
      let sigResults: SignatureTaskResult[];
      try {
        sigResults = await pool.runAll(sigTasks, "signatureTask", signatureTask);
      } finally {
        await pool.destroy();
      }
      lap("signatures");
      const perSource = sources.map(() => 0);
      sigResults.forEach((r, i) => (perSource[sigTasks[i].sourceIndex] += r.documents));
      const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((s, x) => s + f(x), 0);

      // 2. Band buckets → star edges, scattered by node.
      const edgesDir = joinPath(work, "edges");
      const bucketResults = await Promise.all(
        range.map((p) => limit(() => bucketTask({ inputDir: bandsDir, partition: p, outputDir: edgesDir, numPartitions: partitions, memoryBudgetBytes: budget, verifyThreshold }))),
      );
      await fs.deleteTree(bandsDir);
      lap("buckets");

      // 3. Connected components: round 0 from adjacency, then label rounds until nothing changes.
      let inputDir = edgesDir;
      let round = 0;
      let nodes = 0;
      for (;;) {
        if (round > (ctx.config.maxRounds as number)) {
          throw new MinHashInputError(`label propagation did not converge in ${round - 1} rounds`, "raise maxRounds (very long chains of near-duplicates need one round per hop)");
        }
        const outputDir = joinPath(work, `round-${pad(round)}`);
        const results = await Promise.all(
          range.map((p) => limit(() => propagateTask({ inputDir, partition: p, outputDir, numPartitions: partitions, memoryBudgetBytes: budget, round }))),
        );
        await fs.deleteTree(inputDir);
        inputDir = outputDir;
        const changed = sum(results, (r) => r.changed);
        nodes = sum(results, (r) => r.nodes);
        ctx.log(`label round ${round}: ${nodes} nodes, ${changed} changed`);
        if (round > 0 && changed === 0) break;
        round++;
      }

      lap("components");
      // 4. Labels back to each source part.
      const joinDirs = sources.map((_, i) => joinPath(work, `join-${pad(i, 4)}`));
      const joinResults = await Promise.all(
        range.map((p) =>
          limit(() => joinScatterTask({ inputDir, partition: p, sources: sources.map((s, i) => ({ joinDir: joinDirs[i], numParts: s.numParts })), memoryBudgetBytes: budget })),
        ),
      );
      await fs.deleteTree(inputDir);
      const attrResults = await Promise.all(
        sources.map((src, i) =>
          Promise.all(
            src.parts.map((part) =>
              limit(() => attributeTask({ part, joinDir: joinDirs[i], outputFile: joinPath(attributeDir(ctx.outputPath, src.name), part.fileName), memoryBudgetBytes: budget })),
            ),
          ),
        ),
      );
      await fs.deleteTree(work);
      lap("join");

      const result: MinHashDedupResult = {
        params,
        verifyThreshold,
        documents: sum(sigResults, (r) => r.documents),
        emptyDocuments: sum(sigResults, (r) => r.emptyDocuments),
        textChars: sum(sigResults, (r) => r.textBytes),
        bandEntries: sum(sigResults, (r) => r.bandEntries),
        candidateEdges: sum(bucketResults, (r) => r.candidateEdges),
        rejectedEdges: sum(bucketResults, (r) => r.rejectedEdges),
        clusters: sum(joinResults, (r) => r.canonical),
        clusterMembers: sum(joinResults, (r) => r.members),
        nonCanonical: sum(joinResults, (r) => r.members - r.canonical),
        rounds: round,
        partitions,
        stageSeconds,
        sources: Object.fromEntries(
          sources.map((src, i) => [
            src.name,
            {
              parts: src.numParts,
              documents: perSource[i],
              clusterMembers: sum(attrResults[i], (r) => r.records),
              nonCanonical: sum(attrResults[i], (r) => r.nonCanonical),
              attributes: `${src.name}/outputs/main`,
            },
          ]),
        ),
      };
      for (const key of ["documents", "emptyDocuments", "bandEntries", "candidateEdges", "rejectedEdges", "clusters", "clusterMembers", "nonCanonical", "rounds"] as const) {
        ctx.counters.increment(key, result[key]);
      }
      if (nodes !== result.clusterMembers) {
        throw new MinHashInputError(`components hold ${nodes} nodes but ${result.clusterMembers} attribute records were routed`, "this is a bug in the dedup step; report it with the step's log");
      }
      return result;
    },
  });
}
