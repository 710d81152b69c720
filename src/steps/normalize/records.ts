/**
 * The normalize step's row functions, module-level so that any executor can run them by reference
 * (`fn(import.meta.url, ...)`). `normalizeRecords` turns an input record into its normalized form
 * (whitespace caps, blank documents dropped, `id = documentId(text)`), tagged with its input file and
 * position so that copies sort by (source, source_id, file, position); `markDuplicates` walks a
 * partition sorted by id and keeps the first copy of each id, turning the others into duplicates
 * that name the kept copy; `routeRecord` sends them to `main` or `dups`. Per-source documents and
 * bytes at each stage are user counters (`read.documents:<source>`, ...), which the step folds into
 * its result.
 */
import type { JsonValue, UserContext } from "../../dataset/index.ts";
import { decodeUtf8Counting, documentId, normalizeText, type CounterSink } from "../text/index.ts";
import { NormalizeError } from "./errors.ts";

/** This module's URL: the functions below are passed to the engine as fn(NORMALIZE_FUNCTIONS, f). */
export const NORMALIZE_FUNCTIONS = import.meta.url;

export type DedupMode = "none" | "exact";

export interface NormalizedRecord {
  id: string;
  text: string;
  source: string;
  source_id: string;
  [metadata: string]: unknown;
}

/** What travels through the shuffle: the record, its input file (relative to the input folder) and its position in the file. */
export type ShuffledRecord = [record: NormalizedRecord, file: string, position: number];

export interface NormalizeArgs {
  /** The input folder; files are named relative to it in fallback source ids and sources. */
  base: string;
  textField: string;
  /** "all": every field but the text field and the reserved ones; or the fields to keep. */
  keepMetadata: "all" | string[];
  [key: string]: JsonValue;
}

/** Fields kiln writes itself; an input's own fields of these names are not carried over. */
const RESERVED = new Set(["id", "text", "source", "source_id", "kept_source", "kept_source_id"]);

/** Stage names of the per-source counters: `<stage>.documents:<source>` and `<stage>.bytes:<source>`. */
export const STAGES = ["read", "normalized", "kept", "duplicates"] as const;
export type Stage = (typeof STAGES)[number];

function count(ctx: CounterSink, stage: Stage, source: string, bytes: number): void {
  ctx.increment(`${stage}.documents:${source}`);
  ctx.increment(`${stage}.bytes:${source}`, bytes);
}

/** Factory of the map function: one input record → zero or one normalized, tagged record. */
export function normalizeRecords(args: NormalizeArgs): (row: unknown, ctx: UserContext) => ShuffledRecord[] {
  const base = args.base.replace(/\/+$/, "") + "/";
  return (row, ctx) => {
    const at = ctx.position();
    const file = at ? at.source.replace(/ \(split from byte \d+\)$/, "") : "";
    const relative = file.startsWith(base) ? file.slice(base.length) : file.slice(file.lastIndexOf("/") + 1);
    // Parquet rows are numbered from 0 in source ids, JSONL lines from 1.
    const position = at ? (at.unit === "row" ? at.record - 1 : at.record) : 0;
    const where = `${file}: ${at?.unit ?? "record"} ${position}`;
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new NormalizeError(`${where}: a record must be a JSON object, got ${Array.isArray(row) ? "an array" : row === null ? "null" : typeof row}`, "write one JSON object per line");
    }
    const record: Record<string, unknown> = { ...row };
    const counters = ctx.counters;
    const raw = textOf(record, args.textField, where, counters);
    const fallbackSource = relative.includes("/") ? relative.split("/")[0] : relative.replace(/\..*$/, "");
    const source = typeof record.source === "string" && record.source ? record.source : fallbackSource;
    count(counters, "read", source, raw === undefined ? 0 : Buffer.byteLength(raw));
    counters.increment("records_read");
    if (raw === undefined) {
      counters.increment("missing_text_dropped");
      return [];
    }
    const text = normalizeText(raw, counters);
    if (text === null) return [];
    const sourceId = record.source_id === undefined || record.source_id === null ? `${relative}:${position}` : String(record.source_id);
    const out: NormalizedRecord = { id: documentId(text), text, source, source_id: sourceId };
    const keep = args.keepMetadata === "all" ? Object.keys(record) : args.keepMetadata;
    for (const k of keep) if (!RESERVED.has(k) && k !== args.textField && record[k] !== undefined) out[k] = record[k];
    count(counters, "normalized", source, Buffer.byteLength(text));
    return [[out, relative, position]];
  };
}

/**
 * The text of a record's `field`: a string as is, binary decoded as UTF-8 with counting, `undefined`
 * when missing or null. Any other type fails naming the file, record and field.
 */
export function textOf(record: Record<string, unknown>, field: string, where: string, counters: CounterSink): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return decodeUtf8Counting(value, counters).text;
  throw new NormalizeError(`${where}: field '${field}' is ${Array.isArray(value) ? "an array" : typeof value}, not text`, "point textField at a string field, or fix the record");
}

/** Shuffle key: the document id (its partition is partitionOf(id, parts)). */
export function recordId(entry: ShuffledRecord): string {
  return entry[0].id;
}

/** Order of the copies of one id: the copy kept is the first by (source, source_id, file, position). */
export function copyOrder(entry: ShuffledRecord): [string, string, string, number] {
  return [entry[0].source, entry[0].source_id, entry[1], entry[2]];
}

/**
 * Factory of the flatMap over a partition sorted by (id, copy order): with exact dedup the first
 * record of each id is kept and the others become duplicates naming it (`kept_source`,
 * `kept_source_id`); with "none" every record is kept. It keeps the last kept record across rows
 * (one factory per task, rows in partition order).
 */
export function markDuplicates(args: { dedup: DedupMode }): (entry: ShuffledRecord, ctx: UserContext) => NormalizedRecord[] {
  let last: NormalizedRecord | undefined;
  return ([record], ctx) => {
    const bytes = Buffer.byteLength(record.text);
    if (args.dedup === "exact" && last !== undefined && last.id === record.id) {
      count(ctx.counters, "duplicates", record.source, bytes);
      return [{ ...record, kept_source: last.source, kept_source_id: last.source_id }];
    }
    last = record;
    count(ctx.counters, "kept", record.source, bytes);
    return [record];
  };
}

/** Duplicates (which carry `kept_source`) go to `dups`, kept records to `main`. */
export function routeRecord(record: NormalizedRecord): "main" | "dups" {
  return "kept_source" in record ? "dups" : "main";
}
