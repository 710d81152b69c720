/**
 * Consolidate's per-part tasks, plain JSON in and out (inline or on a worker thread). `sketchTask`
 * reads a part's attribute files and returns one quantile sketch per fraction-filter attribute.
 * `consolidateTask` is the streaming merge join: it walks the source part (sorted by id) and each
 * attribute file of the same name (sorted by id, ids a subset of the source's) in step, checking
 * both orders as it goes, applies the filters and writes the kept records to the output part.
 */
import { expandInputs, openWriter, readSplit } from "../../io/formats.ts";
import { fileSystemFor } from "../../io/index.ts";
import { CoPartitionError, ConsolidateError } from "./errors.ts";
import { firstRejecting, type ResolvedFilter } from "./filters.ts";
import { QuantileSketch, type SketchJson } from "./sketch.ts";

export interface AttributeRecord {
  id: string;
  attributes: Record<string, unknown>;
  position: number;
}

/** Finds `<dir>/<stem>.parquet` or `<dir>/<stem>.jsonl.zst`; fails naming both when neither exists. */
export async function findAttributeFile(dir: string, relativeStem: string, dataset: string): Promise<string> {
  const base = `${dir.replace(/\/+$/, "")}/${relativeStem}`;
  for (const ext of [".parquet", ".jsonl.zst"]) {
    if (await fileSystemFor(base + ext).exists(base + ext)) return base + ext;
  }
  throw new CoPartitionError(
    `attribute dataset '${dataset}' has no file for source part ${relativeStem} (looked for ${base}.parquet and ${base}.jsonl.zst)`,
    "attribute datasets must be co-partitioned with the source: one file per source part, with the same relative name",
  );
}

/** The records of one attribute file, checked to be strictly increasing by id. */
export async function* attributeRecords(file: string): AsyncGenerator<AttributeRecord> {
  const [split] = await expandInputs(file, { splitBytes: Number.MAX_SAFE_INTEGER });
  let previous: string | undefined;
  let index = 0;
  for await (const batch of readSplit(split, { columns: split.format === "parquet" ? ["id", "attributes"] : undefined })) {
    for (const row of batch.rows as Array<Record<string, unknown>>) {
      const position = index++;
      const id = row.id;
      if (typeof id !== "string") throw new ConsolidateError(`${file}: record ${position} has no string id`, "write attribute records as { id, attributes: { name: value } }");
      const attributes = row.attributes ?? {};
      if (typeof attributes !== "object" || Array.isArray(attributes)) {
        throw new ConsolidateError(`${file}: record ${position} (id ${id}): attributes is not an object`, "write attribute records as { id, attributes: { name: value } }");
      }
      if (previous !== undefined && !(previous < id)) {
        throw new CoPartitionError(
          `${file}: not sorted by id at record ${position}: id ${id} follows ${previous}`,
          "sort each attribute file by id (strictly increasing, one record per id), as its source part is",
        );
      }
      previous = id;
      yield { id, attributes: attributes as Record<string, unknown>, position };
    }
  }
}

export interface SketchTaskInput {
  attributeFiles: string[];
  /** Attributes to sketch. */
  attributes: string[];
  accuracy: number;
}

export async function sketchTask(task: SketchTaskInput): Promise<Record<string, SketchJson>> {
  const sketches = Object.fromEntries(task.attributes.map((a) => [a, new QuantileSketch(task.accuracy)]));
  for (const file of task.attributeFiles) {
    for await (const rec of attributeRecords(file)) {
      for (const a of task.attributes) {
        const v = rec.attributes[a];
        if (typeof v === "number") sketches[a].add(v);
      }
    }
  }
  return Object.fromEntries(Object.entries(sketches).map(([a, s]) => [a, s.toJSON()]));
}

export interface ConsolidateTaskInput {
  sourceFile: string;
  /** Attribute file per dataset name. */
  attributeFiles: Record<string, string>;
  filters: ResolvedFilter[];
  outputFile: string;
}

export interface DocBytes {
  documents: number;
  bytes: number;
}

export interface ConsolidateTaskOutput {
  input: Record<string, DocBytes>;
  kept: Record<string, DocBytes>;
  removed: Record<string, number>;
  emptyText: number;
}

interface Cursor {
  dataset: string;
  file: string;
  it: AsyncGenerator<AttributeRecord>;
  head: AttributeRecord | undefined;
  matched: boolean;
}

const BATCH = 4096;

function add(map: Record<string, DocBytes>, source: string, bytes: number): void {
  const slot = (map[source] ??= { documents: 0, bytes: 0 });
  slot.documents++;
  slot.bytes += bytes;
}

export async function consolidateTask(task: ConsolidateTaskInput): Promise<ConsolidateTaskOutput> {
  const out: ConsolidateTaskOutput = { input: {}, kept: {}, removed: Object.fromEntries(task.filters.map((f) => [f.name, 0])), emptyText: 0 };
  const cursors: Cursor[] = [];
  for (const [dataset, file] of Object.entries(task.attributeFiles)) {
    const it = attributeRecords(file);
    cursors.push({ dataset, file, it, head: (await it.next()).value || undefined, matched: false });
  }
  const advance = async (c: Cursor) => {
    const next = await c.it.next();
    c.head = next.done ? undefined : next.value;
    c.matched = false;
  };
  const notInSource = (c: Cursor): never => {
    throw new CoPartitionError(
      `${c.file}: record ${c.head!.position} has id ${c.head!.id}, which is not in the source part ${task.sourceFile}`,
      "attribute files must hold only ids of their source part (same partitioning, same part names); recompute the attributes from this source",
    );
  };
  const writer = openWriter(task.outputFile, "parquet");
  const rows: unknown[] = [];
  try {
    const [split] = await expandInputs(task.sourceFile, { splitBytes: Number.MAX_SAFE_INTEGER });
    let previous: string | undefined;
    let position = 0;
    for await (const batch of readSplit(split)) {
      for (const record of batch.rows as Array<Record<string, unknown>>) {
        const id = record.id;
        if (typeof id !== "string") throw new ConsolidateError(`${task.sourceFile}: record ${position} has no string id`, "consolidate reads the output of a normalize step");
        if (previous !== undefined && id < previous) {
          throw new CoPartitionError(`${task.sourceFile}: not sorted by id at record ${position}: id ${id} follows ${previous}`, "the source parts must be sorted by id, as the normalize step writes them");
        }
        previous = id;
        position++;
        let attributes: Record<string, unknown> | undefined;
        for (const c of cursors) {
          while (c.head && c.head.id < id) {
            if (!c.matched) notInSource(c);
            await advance(c);
          }
          if (c.head && c.head.id === id) {
            c.matched = true;
            for (const [name, value] of Object.entries(c.head.attributes)) {
              attributes ??= {};
              if (name in attributes) {
                throw new ConsolidateError(`attribute '${name}' of id ${id} comes from two datasets (the second is '${c.dataset}', ${c.file})`, "give attributes distinct names across datasets");
              }
              attributes[name] = value;
            }
          }
        }
        const source = typeof record.source === "string" ? record.source : "(none)";
        const text = record.text;
        const bytes = typeof text === "string" ? Buffer.byteLength(text) : 0;
        add(out.input, source, bytes);
        const rejectedBy = firstRejecting(task.filters, attributes);
        if (rejectedBy !== null) {
          out.removed[rejectedBy]++;
          continue;
        }
        if (typeof text !== "string" || text.trim() === "") {
          out.emptyText++;
          continue;
        }
        add(out.kept, source, bytes);
        rows.push(record);
        if (rows.length >= BATCH) await writer.write(rows.splice(0));
      }
    }
    for (const c of cursors) {
      while (c.head) {
        if (!c.matched) notInSource(c);
        await advance(c);
      }
    }
    if (rows.length) await writer.write(rows.splice(0));
    await writer.close();
    return out;
  } catch (err) {
    await writer.abort();
    for (const c of cursors) await c.it.return(undefined);
    throw err;
  }
}
