/**
 * The normalize step's row functions, module-level so that any executor can run them by reference
 * (`fn(import.meta.url, ...)`). `normalizeRecords` turns an input record into its normalized form
 * (whitespace caps, blank documents dropped, `id = documentId(text)`, the user's id kept as
 * `source_id`), with its text's UTF-8 length; `markDuplicates` walks a partition sorted by id, the
 * copies of an id in input order (the shuffle keeps equal keys in the order its map tasks and their
 * records came: Dataset.partitionBy; the map tasks are the input's splits in input order), and keeps
 * the FIRST occurrence of each id, turning the others into duplicates that name the kept copy;
 * `routeRecord` sends them to `main` or `dups`. Per-source documents and bytes at each stage are user counters
 * (`read.documents:<source>`, ...), which the step folds into its result.
 *
 * `source_id` is the record's own id: the field named by `idField` when given, else its
 * `source_id`, else its `id` (a string or a number, kept as text); a record without one gets
 * `<file>:<line>` (`<file>@<split start byte>:<line in split>` past the first split of a large file).
 */
import type { UserContext } from "../../dataset/index.ts";
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

/**
 * What travels through the shuffle: the record and its text's UTF-8 length, which the reduce side
 * counts without measuring the text again.
 */
export type ShuffledRecord = [record: NormalizedRecord, textBytes: number];

export type NormalizeArgs = {
  /** The input folder; files are named relative to it in fallback source ids and sources. */
  base: string;
  textField: string;
  /** The field holding the user's id (null: `source_id`, then `id`). */
  idField: string | null;
  /** Source name of records without a `source` field (null: the first folder below base, else the file's stem). */
  source: string | null;
  /** "all": every field but the text field and the reserved ones; or the fields to keep. */
  keepMetadata: "all" | string[];
};

/** Fields kiln writes itself; an input's own fields of these names are not carried over. */
const RESERVED = new Set(["id", "text", "source", "source_id", "kept_source", "kept_source_id"]);

/** Stage names of the per-source counters: `<stage>.documents:<source>` and `<stage>.bytes:<source>`. */
export const STAGES = ["read", "normalized", "kept", "duplicates"] as const;
export type Stage = (typeof STAGES)[number];

/** The counter names of each source, built once per source and task rather than once per record. */
type SourceCounterNames = Record<Stage, { documents: string; bytes: string }>;
const counterNamesBySource = new Map<string, SourceCounterNames>();

function namesOf(source: string): SourceCounterNames {
  let names = counterNamesBySource.get(source);
  if (names === undefined) {
    const pair = (stage: Stage) => ({ documents: `${stage}.documents:${source}`, bytes: `${stage}.bytes:${source}` });
    names = { read: pair("read"), normalized: pair("normalized"), kept: pair("kept"), duplicates: pair("duplicates") };
    if (counterNamesBySource.size > 10_000) counterNamesBySource.clear();
    counterNamesBySource.set(source, names);
  }
  return names;
}

function count(ctx: CounterSink, stage: Stage, source: string, bytes: number): void {
  const names = namesOf(source)[stage];
  ctx.increment(names.documents);
  ctx.increment(names.bytes, bytes);
}

const SPLIT_SUFFIX = / \(split from byte (\d+)\)$/;

/** Where a record comes from: its file (full path and name relative to base), the split's start byte and the line or row. */
interface Place {
  file: string;
  relative: string;
  /** The source of a record without one of its own: its folder under base, else its file name up to the first dot. */
  fileSource: string;
  splitStart: number;
  position: number;
}

/**
 * A function from the row's context to its place, remembering the last file's lookups. It returns
 * one object per task, updated in place for each row: a row reads its place before the next row's.
 */
function placeFinder(args: NormalizeArgs): (ctx: UserContext) => Readonly<Place> {
  const base = args.base.replace(/\/+$/, "") + "/";
  let lastSource = "";
  const place: Place = { file: "", relative: "", fileSource: "", splitStart: 0, position: 0 };
  return (ctx) => {
    const at = ctx.position();
    if (at && at.source !== lastSource) {
      lastSource = at.source;
      const split = SPLIT_SUFFIX.exec(at.source);
      const file = split ? at.source.slice(0, split.index) : at.source;
      place.file = file;
      place.relative = file.startsWith(base) ? file.slice(base.length) : file.slice(file.lastIndexOf("/") + 1);
      place.fileSource = place.relative.includes("/") ? place.relative.split("/")[0] : place.relative.replace(/\..*$/, "");
      place.splitStart = split ? Number(split[1]) : 0;
    }
    // Parquet rows are numbered from 0 in source ids, JSONL lines from 1.
    place.position = at ? (at.unit === "row" ? at.record - 1 : at.record) : 0;
    return place;
  };
}

function isRecord(row: unknown): row is Record<string, unknown> {
  return row !== null && typeof row === "object" && !Array.isArray(row);
}

/** The user's id of a record as text (see the file header), or undefined when it has none. */
function userId(record: Record<string, unknown>, idField: string | null, where: () => string): string | undefined {
  const fields = idField === null ? ["source_id", "id"] : [idField];
  for (const field of fields) {
    const value = record[field];
    if (value === undefined || value === null || value === "") continue;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "bigint") return String(value);
    throw new NormalizeError(`${where()}: id field '${field}' is ${Array.isArray(value) ? "an array" : typeof value}, not a string or number`, "point idField at a string or numeric field, or fix the record");
  }
  return undefined;
}

/** Factory of the map function: one input record → zero or one normalized, tagged record. */
export function normalizeRecords(args: NormalizeArgs): (row: unknown, ctx: UserContext) => ShuffledRecord[] {
  const placeOf = placeFinder(args);
  let rowCtx: UserContext | undefined;
  let place: Readonly<Place> | undefined;
  // Names the current row in an error message; one function per task, called only when a row fails.
  const where = () => `${place?.file}${place?.splitStart ? ` (split from byte ${place.splitStart})` : ""}: ${rowCtx?.position()?.unit ?? "record"} ${place?.position}`;
  return (row, ctx) => {
    rowCtx = ctx;
    place = placeOf(ctx);
    const { relative, splitStart, position } = place;
    if (!isRecord(row)) {
      throw new NormalizeError(`${where()}: a record must be a JSON object, got ${Array.isArray(row) ? "an array" : row === null ? "null" : typeof row}`, "write one JSON object per line");
    }
    const record = row;
    const counters = ctx.counters;
    const raw = textOf(record, args.textField, where, counters);
    const source = typeof record.source === "string" && record.source ? record.source : (args.source ?? place.fileSource);
    const rawBytes = raw === undefined ? 0 : Buffer.byteLength(raw);
    count(counters, "read", source, rawBytes);
    counters.increment("records_read");
    if (raw === undefined) {
      counters.increment("missing_text_dropped");
      return [];
    }
    const text = normalizeText(raw, counters);
    if (text === null) return [];
    let sourceId = userId(record, args.idField, where);
    if (sourceId === undefined) {
      if (args.idField !== null) counters.increment("missing_id");
      sourceId = splitStart ? `${relative}@${splitStart}:${position}` : `${relative}:${position}`;
    }
    const out: NormalizedRecord = { id: documentId(text), text, source, source_id: sourceId };
    if (args.keepMetadata === "all") {
      for (const k in record) if (Object.hasOwn(record, k)) keepField(out, record, k, args.textField);
    } else {
      for (const k of args.keepMetadata) keepField(out, record, k, args.textField);
    }
    const textBytes = text === raw ? rawBytes : Buffer.byteLength(text);
    count(counters, "normalized", source, textBytes);
    return [[out, textBytes]];
  };
}

/** Copies an input field the record keeps: any but the text field and the reserved ones, when set. */
function keepField(out: NormalizedRecord, record: Record<string, unknown>, k: string, textField: string): void {
  if (!RESERVED.has(k) && k !== textField && record[k] !== undefined) out[k] = record[k];
}

/**
 * The text of a record's `field`: a string as is, binary decoded as UTF-8 with counting, `undefined`
 * when missing or null. Any other type fails naming the file, record and field.
 */
export function textOf(record: Record<string, unknown>, field: string, where: () => string, counters: CounterSink): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return decodeUtf8Counting(value, counters).text;
  throw new NormalizeError(`${where()}: field '${field}' is ${Array.isArray(value) ? "an array" : typeof value}, not text`, "point textField at a string field, or fix the record");
}

/** Shuffle key: the document id (its partition is partitionOf(id, parts)). */
export function recordId(entry: ShuffledRecord): string {
  return entry[0].id;
}

/**
 * Factory of the flatMap over a partition sorted by id, each id's copies in input order: with exact dedup the first
 * record of each id is kept and the others become duplicates naming it (`kept_source`,
 * `kept_source_id`, added to the record itself: each entry is decoded from the shuffle for this
 * function alone); with "none" every record is kept. It keeps the last kept record across rows
 * (one factory per task, rows in partition order).
 */
export function markDuplicates(args: { dedup: DedupMode }): (entry: ShuffledRecord, ctx: UserContext) => NormalizedRecord[] {
  let last: NormalizedRecord | undefined;
  return (entry, ctx) => {
    const [record] = entry;
    const bytes = entry[1]; // the text's UTF-8 length, measured on the map side
    if (args.dedup === "exact" && last !== undefined && last.id === record.id) {
      count(ctx.counters, "duplicates", record.source, bytes);
      // The record was decoded from the shuffle for this function alone: marked in place, not copied.
      record.kept_source = last.source;
      record.kept_source_id = last.source_id;
      return [record];
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
