/**
 * The normalize step: turns a download step's output (or any jsonl / jsonl.zst / jsonl.gz / parquet
 * files) into normalized, id-keyed, partitioned parquet: `outputs/main/part-NNNNN-of-MMMMM.parquet`,
 * each part sorted by `id`, records `{id, text, source, source_id, ...kept metadata}` where
 * `id = documentId(normalized text)`.
 *
 * PARTITIONING CONVENTION (dedup, quality and consolidate rely on it): the document with id X is in
 * part `partitionOf(X, M)` of src/shuffle, i.e. xxh3-64 of the canonical key bytes of the id string,
 * mod M. M = max(1, ceil(input bytes / targetPartitionBytes)), input bytes being the summed sizes of
 * the input files as stored with compressed files (.zst, .gz, parquet) counted 4x, an estimate of
 * their decoded size (a partition is held in memory while its parquet part is encoded, so the
 * target bounds memory). Every part 0..M-1 is written, empty or not. With exact dedup the copies
 * of an id after the first (by source, source_id, input file, position) go to
 * `outputs/dups/part-NNNNN-of-MMMMM.parquet`, partitioned and sorted the same way, each with
 * `kept_source` and `kept_source_id` naming the copy that was kept.
 *
 * Map tasks (one per input file) and reduce tasks (one per partition) run on a worker-thread pool
 * when there is more than one task of a kind; memory is bounded by the shuffle's budget per task and
 * by the partition size for the parquet writer.
 */
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { createTaskPool } from "../task-pool.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { joinPath } from "../../io/index.ts";
import { expandInputs, expandOutputPattern, formatOf, type InputSplit } from "../../io/formats.ts";
import { partitionOf } from "../../shuffle/index.ts";
import { NormalizeError, NothingLeftError } from "./errors.ts";
import {
  normalizeMapTask,
  normalizeReduceTask,
  type DedupMode,
  type DocBytes,
  type MapTaskInput,
  type MapTaskOutput,
  type ReduceTaskInput,
  type ReduceTaskOutput,
} from "./tasks.ts";

export const NORMALIZED_SCHEMA_VERSION = "kiln-normalized/1";
export const DEFAULT_TARGET_PARTITION_BYTES = 32 * 1024 * 1024;
/** Compressed inputs (jsonl.zst, jsonl.gz, parquet) count this many times their stored size. */
export const COMPRESSED_SIZE_FACTOR = 4;
const DEFAULT_TASK_MEMORY = 256 * 1024 * 1024;
const DEFAULT_FILES = "**/*.{jsonl,jsonl.zst,jsonl.gz,parquet}";

/** The part a document id belongs to among `numPartitions` (the convention above). */
export function normalizedPartOf(id: string, numPartitions: number): number {
  return partitionOf(id, numPartitions);
}

/** `outputs/<kind>/part-NNNNN-of-MMMMM.parquet`. */
export function normalizedPartName(kind: "main" | "dups", partition: number, numPartitions: number): string {
  return expandOutputPattern(`outputs/${kind}/part-{shard}-of-{total}.parquet`, partition, numPartitions);
}

export interface NormalizeOptions {
  name: string;
  /** A download step (its result's file list is read), or any step / sub-path holding data files. */
  input: InputSpec;
  /** Glob below the input path; default: the download result's files, else every data file. */
  files?: string;
  /** With a download input: only the files of these sources. */
  sources?: string[];
  /** Field holding the text (default "text"). */
  textField?: string;
  /** "all" (default): every other field of the record; or the fields to keep. */
  keepMetadata?: "all" | string[];
  /** "exact" (default) moves copies of an id to outputs/dups; "none" keeps them all. */
  dedup?: DedupMode;
  /** Target size of one partition, in estimated decoded input bytes (default 32 MiB). */
  targetPartitionBytes?: number;
  /** Worker threads (default: every core); 0 runs every task inline. */
  threads?: number;
  /** Memory budget of one shuffle task in bytes (default 256 MiB). */
  memoryBudgetBytes?: number;
}

export interface SourceStages {
  /** Records read, with the UTF-8 bytes of their text field. */
  read: DocBytes;
  /** Records left after normalization (blank and text-less ones dropped). */
  normalized: DocBytes;
  /** Records written to outputs/main. */
  kept: DocBytes;
  /** Records moved to outputs/dups. */
  duplicates: DocBytes;
}

export interface NormalizeResult {
  schemaVersion: typeof NORMALIZED_SCHEMA_VERSION;
  partitioning: { key: "id"; rule: string; partitions: number; targetPartitionBytes: number };
  dedup: DedupMode;
  textField: string;
  /** Relative to the step's output folder, one per partition, in partition order. */
  files: string[];
  dupFiles: string[];
  inputFiles: number;
  /** Stored size of the input files. */
  inputBytes: number;
  /** Decoded size estimate that set the partition count (see the file header). */
  estimatedInputBytes: number;
  documents: number;
  bytes: number;
  duplicates: number;
  counters: Record<string, number>;
  bySource: Record<string, SourceStages>;
}

interface DownloadLikeResult {
  files: { path: string; source: string }[];
}

function isDownloadLike(result: unknown): result is DownloadLikeResult {
  return typeof result === "object" && result !== null && Array.isArray((result as DownloadLikeResult).files) &&
    (result as DownloadLikeResult).files.every((f) => typeof f?.path === "string" && typeof f?.source === "string");
}

interface PlannedFile {
  split: InputSplit;
  relative: string;
  source: string;
}

async function planInputs(
  inputPath: string,
  stepPath: string,
  result: unknown,
  files: string | null,
  sources: string[] | null,
  log: (message: string) => void,
): Promise<PlannedFile[]> {
  const whole = { splitBytes: Number.MAX_SAFE_INTEGER };
  if (files === null && isDownloadLike(result)) {
    const wanted = result.files.filter((f) => (sources === null || sources.includes(f.source)) && !/\.kiln\//.test(f.path));
    if (sources !== null) {
      const missing = sources.filter((s) => !result.files.some((f) => f.source === s));
      if (missing.length) {
        const known = [...new Set(result.files.map((f) => f.source))].join(", ");
        throw new NormalizeError(`the input has no files of source(s) ${missing.join(", ")}`, `pick sources the download step fetched: ${known}`);
      }
    }
    const readable = (p: string) => {
      try {
        formatOf(p);
        return true;
      } catch {
        return false;
      }
    };
    const dataFiles = wanted.filter((f) => readable(f.path));
    for (const f of wanted.filter((w) => !readable(w.path))) log(`skipping ${f.path} (source ${f.source}): not jsonl, jsonl.zst, jsonl.gz or parquet`);
    const planned: PlannedFile[] = [];
    for (const f of dataFiles) {
      const [split] = await expandInputs(joinPath(stepPath, f.path), whole);
      planned.push({ split, relative: f.path, source: f.source });
    }
    return planned;
  }
  if (sources !== null) {
    throw new NormalizeError("'sources' was given but the input is not a download step's output", "remove 'sources', or use 'files' to pick files");
  }
  const splits = await expandInputs(joinPath(inputPath, files ?? DEFAULT_FILES), whole);
  const base = inputPath.replace(/\/+$/, "");
  return splits.map((split) => {
    const relative = split.path.startsWith(base + "/") ? split.path.slice(base.length + 1) : path.basename(split.path);
    return { split, relative, source: relative.includes("/") ? relative.split("/")[0] : relative.replace(/\..*$/, "") };
  });
}

function mergeInto(target: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) target[k] = (target[k] ?? 0) + v;
}

/** Defines a normalize step (see the file header for its output layout). */
export function normalizeStep(opts: NormalizeOptions) {
  return step({
    name: opts.name,
    description: `normalize${opts.dedup === "none" ? "" : " + exact dedup"}${opts.sources ? ` of ${opts.sources.join(", ")}` : ""}`,
    config: {
      schema: versioned(NORMALIZED_SCHEMA_VERSION),
      files: versioned(opts.files ?? null),
      sources: versioned(opts.sources ?? null),
      textField: versioned(opts.textField ?? "text"),
      keepMetadata: versioned(opts.keepMetadata ?? "all"),
      dedup: versioned(opts.dedup ?? "exact"),
      targetPartitionBytes: versioned(opts.targetPartitionBytes ?? DEFAULT_TARGET_PARTITION_BYTES),
      threads: opts.threads ?? null,
      memoryBudgetBytes: opts.memoryBudgetBytes ?? DEFAULT_TASK_MEMORY,
    },
    inputs: { input: opts.input },
    run: async (ctx): Promise<NormalizeResult> => {
      const cfg = ctx.config;
      const dedup = cfg.dedup as DedupMode;
      if (dedup !== "none" && dedup !== "exact") throw new NormalizeError(`dedup mode '${String(dedup)}' is not known`, "use 'none' or 'exact'");
      const target = cfg.targetPartitionBytes as number;
      if (!(Number.isFinite(target) && target >= 1)) throw new NormalizeError(`targetPartitionBytes ${target} is not a positive number`, "give a size in bytes, e.g. 268435456");
      const input = ctx.inputs.input as { path: string; stepPath: string; result: unknown };
      const planned = await planInputs(input.path, input.stepPath, input.result, cfg.files as string | null, cfg.sources as string[] | null, (m) => ctx.log(m));
      if (planned.length === 0) throw new NormalizeError(`no data files in ${input.path}`, "check the input step and the 'files' / 'sources' options");
      const inputBytes = planned.reduce((s, f) => s + f.split.size, 0);
      const estimatedBytes = planned.reduce((s, f) => s + f.split.size * (f.split.format === "jsonl" ? 1 : COMPRESSED_SIZE_FACTOR), 0);
      const numPartitions = Math.max(1, Math.ceil(estimatedBytes / target));
      const shuffleDir = ctx.path("_shuffle");
      const textField = cfg.textField as string;
      const memory = cfg.memoryBudgetBytes as number;
      const threads = (cfg.threads as number | null) ?? availableParallelism();
      const pool = createTaskPool(new URL("./worker.mjs", import.meta.url), threads, ctx.signal);
      try {
        ctx.log(`normalizing ${planned.length} file(s), ${inputBytes} bytes, into ${numPartitions} partition(s)`);
        const mapTasks: MapTaskInput[] = planned.map((f, fileIndex) => ({
          fileIndex,
          split: f.split,
          relative: f.relative,
          source: f.source,
          textField,
          keepMetadata: cfg.keepMetadata as "all" | string[],
          shuffleDir,
          numPartitions,
          // Map tasks only buffer frames before flushing them; a quarter of the budget keeps them lean.
          memoryBudgetBytes: Math.max(16 * 1024 * 1024, Math.floor(memory / 4)),
        }));
        const mapStart = performance.now();
        const mapped = await pool.runAll<MapTaskInput, MapTaskOutput>(mapTasks, "normalizeMapTask", normalizeMapTask);
        ctx.log(`map phase: ${mapTasks.length} task(s) in ${((performance.now() - mapStart) / 1000).toFixed(1)} s`);
        const counters: Record<string, number> = {};
        const bySource: Record<string, SourceStages> = {};
        const stage = (s: string): SourceStages =>
          (bySource[s] ??= { read: { documents: 0, bytes: 0 }, normalized: { documents: 0, bytes: 0 }, kept: { documents: 0, bytes: 0 }, duplicates: { documents: 0, bytes: 0 } });
        const fold = (which: keyof SourceStages, from: Record<string, DocBytes>) => {
          for (const [s, v] of Object.entries(from)) {
            stage(s)[which].documents += v.documents;
            stage(s)[which].bytes += v.bytes;
          }
        };
        for (const m of mapped) {
          mergeInto(counters, m.counters);
          fold("read", m.read);
          fold("normalized", m.normalized);
        }
        const normalizedDocs = Object.values(bySource).reduce((s, v) => s + v.normalized.documents, 0);
        if (normalizedDocs === 0) {
          throw new NothingLeftError(
            `every record of ${input.path} was dropped: ${counters.records_read ?? 0} read, ${counters.missing_text_dropped ?? 0} without the field '${textField}', ${counters.empty_dropped ?? 0} blank`,
            `check that the records hold their text in the field '${textField}' (set textField otherwise)`,
          );
        }
        const mapOutputs = mapped.map((m) => m.sidecarPath);
        const files = Array.from({ length: numPartitions }, (_, p) => normalizedPartName("main", p, numPartitions));
        const dupFiles = dedup === "exact" ? Array.from({ length: numPartitions }, (_, p) => normalizedPartName("dups", p, numPartitions)) : [];
        const reduceTasks: ReduceTaskInput[] = files.map((f, p) => ({
          partition: p,
          mapOutputs,
          mainPath: ctx.path(f),
          dupsPath: dedup === "exact" ? ctx.path(dupFiles[p]) : null,
          dedup,
          memoryBudgetBytes: memory,
        }));
        const reduceStart = performance.now();
        const reduced = await pool.runAll<ReduceTaskInput, ReduceTaskOutput>(reduceTasks, "normalizeReduceTask", normalizeReduceTask);
        ctx.log(`reduce phase: ${reduceTasks.length} task(s) in ${((performance.now() - reduceStart) / 1000).toFixed(1)} s`);
        for (const r of reduced) {
          fold("kept", r.kept);
          fold("duplicates", r.duplicates);
        }
        const total = (which: "kept" | "duplicates", field: keyof DocBytes) => Object.values(bySource).reduce((s, v) => s + v[which][field], 0);
        counters.documents_written = total("kept", "documents");
        counters.duplicates_written = total("duplicates", "documents");
        for (const [k, v] of Object.entries(counters)) ctx.counters.increment(k, v);
        return {
          schemaVersion: NORMALIZED_SCHEMA_VERSION,
          partitioning: { key: "id", rule: "partitionOf(id, partitions): xxh3-64 of the canonical key bytes of the id, mod partitions", partitions: numPartitions, targetPartitionBytes: target },
          dedup,
          textField,
          files,
          dupFiles,
          inputFiles: planned.length,
          inputBytes,
          estimatedInputBytes: estimatedBytes,
          documents: total("kept", "documents"),
          bytes: total("kept", "bytes"),
          duplicates: total("duplicates", "documents"),
          counters,
          bySource: Object.fromEntries(Object.entries(bySource).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        };
      } finally {
        await pool.destroy();
        await ctx.fs.deleteTree(shuffleDir).catch(() => undefined);
      }
    },
  });
}
