/**
 * The normalize step's two task kinds, plain JSON in and out so that they run the same inline or on
 * a worker thread. A map task reads one input file, normalizes every record (whitespace caps, blank
 * documents dropped, invalid UTF-8 counted), computes `id = documentId(normalized text)` and
 * scatters the records by id into the step's partitions with the shuffle library. A reduce task
 * merge-reads one partition in (id, source, source_id, file, position) order and writes its parquet
 * part; with exact dedup the first record of each id is kept and the others go to the dups part of
 * the same name.
 */
import { openWriter, type InputSplit, type RecordWriter } from "../../io/formats.ts";
import { ScatterWriter, readPartition } from "../../shuffle/index.ts";
import { documentId, normalizeText, type CounterSink } from "../text/index.ts";
import { readInputRecords, textOf } from "./read-input.ts";

export type DedupMode = "none" | "exact";

/** Documents and UTF-8 text bytes. */
export interface DocBytes {
  documents: number;
  bytes: number;
}

export interface MapTaskInput {
  fileIndex: number;
  split: InputSplit;
  /** The file's path relative to the input folder (used in fallback source ids). */
  relative: string;
  /** Source name for records that carry none. */
  source: string;
  textField: string;
  /** "all": every field but the text field and `id`; or the list of fields to keep. */
  keepMetadata: "all" | string[];
  shuffleDir: string;
  numPartitions: number;
  memoryBudgetBytes: number;
}

export interface MapTaskOutput {
  sidecarPath: string;
  counters: Record<string, number>;
  /** Per source: records read (with their raw text bytes) and records kept after normalization. */
  read: Record<string, DocBytes>;
  normalized: Record<string, DocBytes>;
}

/** What travels through the shuffle: the record, its file index and its position in the file. */
export type ShuffledRecord = [record: NormalizedRecord, fileIndex: number, position: number];

export interface NormalizedRecord {
  id: string;
  text: string;
  source: string;
  source_id: string;
  [metadata: string]: unknown;
}

class LocalCounters implements CounterSink {
  readonly values: Record<string, number> = {};
  increment(name: string, by = 1): void {
    this.values[name] = (this.values[name] ?? 0) + by;
  }
}

function add(map: Record<string, DocBytes>, source: string, bytes: number): void {
  const slot = (map[source] ??= { documents: 0, bytes: 0 });
  slot.documents++;
  slot.bytes += bytes;
}

const RESERVED = new Set(["id", "text", "source", "source_id"]);

/** Reads, normalizes and scatters one input file. */
export async function normalizeMapTask(task: MapTaskInput): Promise<MapTaskOutput> {
  const counters = new LocalCounters();
  const read: Record<string, DocBytes> = {};
  const normalized: Record<string, DocBytes> = {};
  const writer = await ScatterWriter.open<ShuffledRecord>({
    outputDir: task.shuffleDir,
    mapTask: task.fileIndex,
    numPartitions: task.numPartitions,
    key: (e) => e[0].id,
    sortBy: (e) => [e[0].source, e[0].source_id, e[1], e[2]],
    operator: "normalize(id)",
    memoryBudgetBytes: task.memoryBudgetBytes,
  });
  try {
    const what = task.split.format === "parquet" ? "row" : "line";
    for await (const { record, position } of readInputRecords(task.split, counters)) {
      const where = `${task.split.path}: ${what} ${position}`;
      const raw = textOf(record, task.textField, where, counters);
      const source = typeof record.source === "string" && record.source ? record.source : task.source;
      add(read, source, raw === undefined ? 0 : Buffer.byteLength(raw));
      counters.increment("records_read");
      if (raw === undefined) {
        counters.increment("missing_text_dropped");
        continue;
      }
      const text = normalizeText(raw, counters);
      if (text === null) continue;
      const sourceId = record.source_id === undefined || record.source_id === null ? `${task.relative}:${position}` : String(record.source_id);
      const out: NormalizedRecord = { id: documentId(text), text, source, source_id: sourceId };
      if (task.keepMetadata === "all") {
        for (const k in record) if (!RESERVED.has(k) && k !== task.textField && record[k] !== undefined) out[k] = record[k];
      } else {
        for (const k of task.keepMetadata) if (!RESERVED.has(k) && record[k] !== undefined) out[k] = record[k];
      }
      add(normalized, source, Buffer.byteLength(text));
      const pending = writer.add([out, task.fileIndex, position]);
      if (pending) await pending;
    }
    const committed = await writer.commit();
    return { sidecarPath: committed.sidecarPath, counters: counters.values, read, normalized };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

export interface ReduceTaskInput {
  partition: number;
  mapOutputs: string[];
  mainPath: string;
  /** Where duplicates go (exact dedup), or null. */
  dupsPath: string | null;
  dedup: DedupMode;
  memoryBudgetBytes: number;
}

export interface ReduceTaskOutput {
  kept: Record<string, DocBytes>;
  duplicates: Record<string, DocBytes>;
}

const BATCH = 4096;

async function flushTo(writer: RecordWriter, rows: unknown[]): Promise<void> {
  if (rows.length) await writer.write(rows.splice(0));
}

/**
 * Writes one partition sorted by id. Exact dedup keeps, per id, the record that sorts first by
 * (source, source_id, input file index, position in the file); each other copy goes to the dups
 * part with `kept_source` and `kept_source_id` naming the copy that was kept.
 */
export async function normalizeReduceTask(task: ReduceTaskInput): Promise<ReduceTaskOutput> {
  const kept: Record<string, DocBytes> = {};
  const duplicates: Record<string, DocBytes> = {};
  const main = openWriter(task.mainPath, "parquet");
  const dups = task.dupsPath ? openWriter(task.dupsPath, "parquet") : undefined;
  const mainRows: unknown[] = [];
  const dupRows: unknown[] = [];
  let last: NormalizedRecord | undefined;
  try {
    const entries = task.mapOutputs.length
      ? readPartition<ShuffledRecord>({ mapOutputs: task.mapOutputs, partition: task.partition, memoryBudgetBytes: task.memoryBudgetBytes })
      : [];
    for await (const entry of entries) {
      const record = entry.record[0];
      const bytes = Buffer.byteLength(record.text);
      if (task.dedup === "exact" && last !== undefined && last.id === record.id) {
        add(duplicates, record.source, bytes);
        dupRows.push({ ...record, kept_source: last.source, kept_source_id: last.source_id });
        if (dupRows.length >= BATCH) await flushTo(dups!, dupRows);
        continue;
      }
      last = record;
      add(kept, record.source, bytes);
      mainRows.push(record);
      if (mainRows.length >= BATCH) await flushTo(main, mainRows);
    }
    await flushTo(main, mainRows);
    await main.close();
    if (dups) {
      await flushTo(dups, dupRows);
      await dups.close();
    }
    return { kept, duplicates };
  } catch (err) {
    await main.abort();
    await dups?.abort();
    throw err;
  }
}
