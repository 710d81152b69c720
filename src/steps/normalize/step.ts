/**
 * The normalize step: turns a download step's output, any step's jsonl / jsonl.zst / jsonl.gz /
 * parquet files, or the user's own files read in place (local paths, globs, https:// and gs:// URLs)
 * into normalized, id-keyed, partitioned parquet: `outputs/main/part-NNNNN-of-MMMMM.parquet`, each
 * part sorted by `id`, records `{id, text, source, source_id, ...kept metadata}` where
 * `id = documentId(normalized text)` and `source_id` is the record's own id (records.ts).
 *
 * PARTITIONING CONVENTION (dedup, quality and consolidate rely on it): the document with id X is in
 * part `partitionOf(X, M)` of src/shuffle, i.e. xxh3-64 of the canonical key bytes of the id string,
 * mod M. M = max(1, ceil(input bytes / targetPartitionBytes)), input bytes being the summed sizes of
 * the input files as stored with compressed files (.zst, .gz, parquet) counted 4x, an estimate of
 * their decoded size. Every part 0..M-1 is written, empty or not. With exact dedup the FIRST
 * occurrence of an id in input order is kept (files in input order, then lines or rows in file
 * order) and the later copies go to `outputs/dups/part-NNNNN-of-MMMMM.parquet`, partitioned and
 * sorted the same way, each with `kept_source` and `kept_source_id` naming the copy that was kept.
 * Input order: the paths as given, each glob's matches in path order; a download step's files as
 * its result lists them; a step's files matched by `files` in path order.
 *
 * It is one Dataset plan on the engine: read every input split (plain JSONL files over 64 MiB are
 * read in byte ranges, in parallel) → normalize → partitionBy(id, M shards; copies stay in input order)
 * → mark duplicates → a routed write of main and dups. Retries, counters, progress, the memory
 * budget and the runner come from the engine. Paths given directly enter the step's version as
 * text: a changed file under the same path needs `--force`.
 */
import { Dataset, fn, runDataset, type Terminal, type WrittenFile } from "../../dataset/index.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { joinPath } from "../../io/index.ts";
import { DEFAULT_SPLIT_BYTES, INVALID_UTF8_COUNTER, expandInputs, expandOutputPattern, formatOf, openWriter, readParquetSchema } from "../../io/formats.ts";
import { partitionOf } from "../../shuffle/index.ts";
import { NormalizeError, NothingLeftError } from "./errors.ts";
import { markDuplicates, NORMALIZE_FUNCTIONS, normalizeRecords, recordId, routeRecord, STAGES, type DedupMode } from "./records.ts";

export const NORMALIZED_SCHEMA_VERSION = "kiln-normalized/1";
export const DEFAULT_TARGET_PARTITION_BYTES = 32 * 1024 * 1024;
/** Compressed inputs (jsonl.zst, jsonl.gz, parquet) count this many times their stored size. */
export const COMPRESSED_SIZE_FACTOR = 4;
const DEFAULT_TASK_MEMORY = 256 * 1024 * 1024;
const DEFAULT_FILES = "**/*.{jsonl,jsonl.zst,jsonl.gz,parquet}";
const WHOLE_FILES = Number.MAX_SAFE_INTEGER;

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
  /**
   * A download step (its result's file list is read), any step / sub-path holding data files, or
   * the data itself, read in place: a local path or glob, an https:// or gs:// URL, or a list of them.
   */
  input: InputSpec | string | string[];
  /** Glob below the input path; default: the download result's files, else every data file. */
  files?: string;
  /** With a download input: only the files of these sources. */
  sources?: string[];
  /** Field holding the text (default "text"). */
  textField?: string;
  /** Field holding the record's own id, kept as `source_id` (default: `source_id`, else `id`). */
  idField?: string;
  /** Source name of records without a `source` field (default: the source folder, else the file name's stem). */
  source?: string;
  /** "all" (default): every other field of the record; or the fields to keep. */
  keepMetadata?: "all" | string[];
  /** "exact" (default) moves copies of an id to outputs/dups; "none" keeps them all. */
  dedup?: DedupMode;
  /** Target size of one partition, in estimated decoded input bytes (default 32 MiB). */
  targetPartitionBytes?: number;
  /** Plain JSONL files larger than this are read in byte ranges of about this size, in parallel (default 64 MiB). */
  splitBytes?: number;
  /** Worker threads (default: the run's shared pool of every core); 0 runs every task in the step's thread. */
  threads?: number;
  /** Memory budget of one task in bytes (default 256 MiB), divided by the engine. */
  memoryBudgetBytes?: number;
}

/** Documents and UTF-8 text bytes. */
export interface DocBytes {
  documents: number;
  bytes: number;
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
  if (typeof result !== "object" || result === null || !("files" in result) || !Array.isArray(result.files)) return false;
  return result.files.every((f: unknown) => typeof f === "object" && f !== null && "path" in f && "source" in f && typeof f.path === "string" && typeof f.source === "string");
}

function readable(p: string): boolean {
  try {
    formatOf(p);
    return true;
  } catch {
    return false;
  }
}

interface PlannedInputs {
  /** Files are named relative to this folder in fallback sources and source ids. */
  base: string;
  /** The input files in input order. */
  paths: string[];
  bytes: number;
  estimated: number;
}

/** The folder holding every path (for naming files relative to it). */
function commonFolder(paths: string[]): string {
  const folders = paths.map((p) => p.slice(0, p.lastIndexOf("/") + 1));
  let common = folders[0] ?? "";
  for (const f of folders) while (!f.startsWith(common)) common = common.slice(0, common.lastIndexOf("/", common.length - 2) + 1);
  return common.replace(/\/+$/, "");
}

/** The files of a download-like result (filtered by source) or of a glob below the input folder, in input order. */
async function stepInputFiles(
  input: { path: string; stepPath: string; result: unknown },
  files: string | null,
  sources: string[] | null,
  log: (message: string) => void,
): Promise<{ base: string; paths: string[] }> {
  if (files === null && isDownloadLike(input.result)) {
    const listed = input.result.files;
    const wanted = listed.filter((f) => (sources === null || sources.includes(f.source)) && !/\.kiln\//.test(f.path));
    if (sources !== null) {
      const missing = sources.filter((s) => !listed.some((f) => f.source === s));
      if (missing.length) {
        const known = [...new Set(listed.map((f) => f.source))].join(", ");
        throw new NormalizeError(`the input has no files of source(s) ${missing.join(", ")}`, `pick sources the download step fetched: ${known}`);
      }
    }
    for (const f of wanted.filter((w) => !readable(w.path))) log(`skipping ${f.path} (source ${f.source}): not jsonl, jsonl.zst, jsonl.gz or parquet`);
    return { base: input.stepPath, paths: wanted.filter((w) => readable(w.path)).map((f) => joinPath(input.stepPath, f.path)) };
  }
  if (sources !== null) {
    throw new NormalizeError("'sources' was given but the input is not a download step's output", "remove 'sources', or use 'files' to pick files");
  }
  const paths = (await expandInputs(joinPath(input.path, files ?? DEFAULT_FILES), { splitBytes: WHOLE_FILES })).map((s) => s.path);
  return { base: input.path, paths };
}

/** Paths, globs and URLs given directly: each one's matches in path order, in the order given, each file once. */
async function directInputFiles(patterns: string[]): Promise<{ base: string; paths: string[] }> {
  const paths: string[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    for (const split of await expandInputs(pattern, { splitBytes: WHOLE_FILES })) {
      if (!seen.has(split.path)) paths.push(split.path);
      seen.add(split.path);
    }
  }
  return { base: commonFolder(paths), paths };
}

/** The data files to normalize, their sizes, and the folder they are named relative to. */
async function planInputs(listed: { base: string; paths: string[] }, where: string): Promise<PlannedInputs> {
  const { base, paths } = listed;
  if (paths.length === 0) throw new NormalizeError(`no data files in ${where}`, "check the input and the 'files' / 'sources' options");
  const splits = await expandInputs(paths, { splitBytes: WHOLE_FILES });
  const sizeOf = new Map(splits.map((s) => [s.path, s]));
  const bytes = splits.reduce((s, f) => s + f.size, 0);
  const estimated = splits.reduce((s, f) => s + f.size * (f.format === "jsonl" ? 1 : COMPRESSED_SIZE_FACTOR), 0);
  return { base, paths: paths.filter((p) => sizeOf.has(p)), bytes, estimated };
}

/** Per-source stage tables from the user counters `<stage>.documents:<source>` / `<stage>.bytes:<source>`. */
function bySourceOf(user: Record<string, number>): Record<string, SourceStages> {
  const out: Record<string, SourceStages> = {};
  for (const [name, n] of Object.entries(user)) {
    const m = /^(\w+)\.(documents|bytes):(.*)$/.exec(name);
    const stage = STAGES.find((s) => s === m?.[1]);
    if (!m || !stage) continue;
    const slot = (out[m[3]] ??= { read: { documents: 0, bytes: 0 }, normalized: { documents: 0, bytes: 0 }, kept: { documents: 0, bytes: 0 }, duplicates: { documents: 0, bytes: 0 } });
    slot[stage][m[2] === "documents" ? "documents" : "bytes"] += n;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * When no document had a copy, every dups part is empty and the engine had no sibling to take their
 * schema from: give them the main parts' columns plus the two naming the kept copy, so that a glob over
 * the folder reads in DuckDB or pandas.
 */
async function giveEmptyDupsTheirSchema(files: WrittenFile[]): Promise<void> {
  const dups = files.filter((f) => f.tag === "dups");
  const main = files.find((f) => f.tag === "main" && f.rows > 0);
  if (dups.length === 0 || dups.some((f) => f.rows > 0) || !main) return;
  const schema = { ...(await readParquetSchema(main.path)), kept_source: "string" as const, kept_source_id: "string" as const };
  for (const f of dups) await openWriter(f.path, "parquet", { schema }).close();
}

/** Defines a normalize step (see the file header for its output layout). */
/** The input as paths read in place (a string or list of strings), or null for a step input. */
function directPatterns(input: NormalizeOptions["input"]): string[] | null {
  if (typeof input === "string") return [input];
  if (Array.isArray(input)) {
    if (input.length === 0 || input.some((p) => typeof p !== "string" || p === "")) throw new NormalizeError("the input list is empty or holds a non-path", "give paths, globs or URLs as non-empty strings");
    return input;
  }
  return null;
}

export function normalizeStep(opts: NormalizeOptions) {
  const direct = directPatterns(opts.input);
  const inputs: Record<string, InputSpec> = {};
  if (direct === null && typeof opts.input !== "string" && !Array.isArray(opts.input)) inputs.input = opts.input;
  const dedup: DedupMode = opts.dedup ?? "exact";
  if (dedup !== "none" && dedup !== "exact") throw new NormalizeError(`dedup mode '${String(dedup)}' is not known`, "use 'none' or 'exact'");
  const target = opts.targetPartitionBytes ?? DEFAULT_TARGET_PARTITION_BYTES;
  if (!(Number.isFinite(target) && target >= 1)) throw new NormalizeError(`targetPartitionBytes ${target} is not a positive number`, "give a size in bytes, e.g. 268435456");
  const splitBytes = opts.splitBytes ?? DEFAULT_SPLIT_BYTES;
  if (!(Number.isSafeInteger(splitBytes) && splitBytes >= 1024)) throw new NormalizeError(`splitBytes ${splitBytes} is not an integer of at least 1024`, "give a size in bytes (default 64 MiB)");
  return step({
    name: opts.name,
    description: `normalize${dedup === "none" ? "" : " + exact dedup"}${opts.sources ? ` of ${opts.sources.join(", ")}` : ""}${direct ? ` of ${direct.join(", ")}` : ""}`,
    config: {
      schema: versioned(NORMALIZED_SCHEMA_VERSION),
      paths: versioned(direct),
      files: versioned(opts.files ?? null),
      sources: versioned(opts.sources ?? null),
      textField: versioned(opts.textField ?? "text"),
      idField: versioned(opts.idField ?? null),
      source: versioned(opts.source ?? null),
      copyOrder: versioned("input-order"),
      keepMetadata: versioned(opts.keepMetadata ?? "all"),
      dedup: versioned(dedup),
      targetPartitionBytes: versioned(target),
      splitBytes: versioned(splitBytes),
      threads: opts.threads ?? null,
      memoryBudgetBytes: opts.memoryBudgetBytes ?? DEFAULT_TASK_MEMORY,
    },
    inputs,
    run: async (ctx): Promise<NormalizeResult> => {
      const cfg = ctx.config;
      const input = cfg.paths === null ? ctx.inputs.input : undefined;
      if (cfg.paths !== null && cfg.files !== null) throw new NormalizeError("'files' was given with paths as the input", "put the glob in the input itself, e.g. input: 'data/**/*.jsonl'");
      const where = input?.path ?? cfg.paths?.join(", ") ?? "";
      const listed = input ? await stepInputFiles(input, cfg.files, cfg.sources, (m) => ctx.log(m)) : await directInputFiles(cfg.paths ?? []);
      const planned = await planInputs(listed, where);
      const partitions = Math.max(1, Math.ceil(planned.estimated / cfg.targetPartitionBytes));
      ctx.log(`normalizing ${planned.paths.length} file(s), ${planned.bytes} bytes, into ${partitions} partition(s)`);
      const args = { base: planned.base, textField: cfg.textField, idField: cfg.idField, source: cfg.source, keepMetadata: cfg.keepMetadata };
      const normalized = Dataset.read(planned.paths, { splitBytes: cfg.splitBytes })
        .flatMap(fn(NORMALIZE_FUNCTIONS, normalizeRecords, args))
        .partitionBy(fn(NORMALIZE_FUNCTIONS, recordId), { numShards: partitions })
        .flatMap(fn(NORMALIZE_FUNCTIONS, markDuplicates, { dedup: cfg.dedup }));
      const main = ctx.path("outputs/main/part-{shard}-of-{total}.parquet");
      const write: Terminal<{ files: WrittenFile[] }> =
        cfg.dedup === "exact"
          ? normalized.write({ main, dups: ctx.path("outputs/dups/part-{shard}-of-{total}.parquet") }, { route: fn(NORMALIZE_FUNCTIONS, routeRecord) })
          : normalized.write(main);
      const { counters, files: written } = await runDataset(ctx, write, { threads: cfg.threads ?? undefined, memoryBudgetBytes: cfg.memoryBudgetBytes, label: "normalize" });
      await giveEmptyDupsTheirSchema(written);
      const bySource = bySourceOf(counters.user);
      const total = (which: "kept" | "duplicates" | "normalized", field: keyof DocBytes) => Object.values(bySource).reduce((s, v) => s + v[which][field], 0);
      const user = counters.user;
      if (total("normalized", "documents") === 0) {
        throw new NothingLeftError(
          `every record of ${where} was dropped: ${user.records_read ?? 0} read, ${user.missing_text_dropped ?? 0} without the field '${cfg.textField}', ${user.empty_dropped ?? 0} blank`,
          `check that the records hold their text in the field '${cfg.textField}' (set textField otherwise)`,
        );
      }
      const stageCounters: Record<string, number> = {};
      for (const [name, n] of Object.entries(user)) if (!name.includes(":")) stageCounters[name] = n;
      // U+FFFD replacements: made by the reader in JSONL lines and parquet strings, and by the step in binary text columns.
      const invalid = counters.stages.reduce((s, st) => s + (st.invalidUtf8 ?? 0), 0) + (user[INVALID_UTF8_COUNTER] ?? 0);
      if (invalid) stageCounters[INVALID_UTF8_COUNTER] = invalid;
      stageCounters.documents_written = total("kept", "documents");
      stageCounters.duplicates_written = total("duplicates", "documents");
      const files = Array.from({ length: partitions }, (_, p) => normalizedPartName("main", p, partitions));
      return {
        schemaVersion: NORMALIZED_SCHEMA_VERSION,
        partitioning: { key: "id", rule: "partitionOf(id, partitions): xxh3-64 of the canonical key bytes of the id, mod partitions", partitions, targetPartitionBytes: cfg.targetPartitionBytes },
        dedup: cfg.dedup,
        textField: cfg.textField,
        files,
        dupFiles: cfg.dedup === "exact" ? Array.from({ length: partitions }, (_, p) => normalizedPartName("dups", p, partitions)) : [],
        inputFiles: planned.paths.length,
        inputBytes: planned.bytes,
        estimatedInputBytes: planned.estimated,
        documents: total("kept", "documents"),
        bytes: total("kept", "bytes"),
        duplicates: total("duplicates", "documents"),
        counters: stageCounters,
        bySource,
      };
    },
  });
}

