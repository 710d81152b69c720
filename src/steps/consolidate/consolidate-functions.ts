/**
 * The consolidate step's row functions, module-level so that any executor runs them by reference
 * (`fn(CONSOLIDATE_FUNCTIONS, f)`). A source part is outer-joined, by id, with the attribute file of
 * the same name of each attribute dataset in turn; `mergeAttributes` folds each joined row into
 * `{record, attributes}`, failing when an attribute has no document in the part (not co-partitioned),
 * an id repeats, or two datasets give the same attribute; `applyFilters` counts every document per
 * source, drops the ones the first rejecting filter or an empty text removes (counted by filter), and
 * returns the kept record. `sketchAttributes` builds the quantile sketches fraction filters cut by.
 */
import type { UserContext } from "../../dataset/index.ts";
import { CoPartitionError, ConsolidateError } from "./errors.ts";
import { firstRejecting, type ResolvedFilter } from "./filters.ts";
import { QuantileSketch, type SketchJson } from "./sketch.ts";

/** This module's URL, for fn(CONSOLIDATE_FUNCTIONS, f). */
export const CONSOLIDATE_FUNCTIONS = import.meta.url;

type Row = Record<string, unknown>;

/** A source document with the attributes gathered so far. */
export interface Gathered {
  record: Row;
  attributes: Row | undefined;
}

export interface AttributeRecord {
  id: string;
  attributes: Row;
}

/** The first step of the chain: a source record with no attributes yet. */
export function gather(record: Row): Gathered {
  return { record, attributes: undefined };
}

export function gatheredId(g: Gathered): unknown {
  return g.record.id;
}

export function attributeId(a: AttributeRecord): unknown {
  return a.id;
}

/** Factory: folds the rows of an outer join with one attribute dataset into the gathered documents. */
export function mergeAttributes(args: { dataset: string; files: string[] }): (joined: { left: Gathered | null; right: AttributeRecord | null }, ctx: UserContext) => Gathered {
  let previous: unknown;
  return (joined, ctx) => {
    const { left, right } = joined;
    if (left === null) {
      throw new CoPartitionError(
        `attribute dataset '${args.dataset}': ${args.files[ctx.shard]} holds id ${JSON.stringify(right?.id)}, which is not in the source part ${ctx.shard} of ${ctx.shardCount}`,
        "attribute files must hold only ids of their source part (same partitioning, same part names); recompute the attributes from this source",
      );
    }
    if (right === null) return left;
    if (typeof right.id !== "string") {
      throw new ConsolidateError(`attribute dataset '${args.dataset}', part ${ctx.shard}: a record has no string id`, "write attribute records as { id, attributes: { name: value } }");
    }
    if (right.id === previous) {
      throw new CoPartitionError(`attribute dataset '${args.dataset}': ${args.files[ctx.shard]} repeats id ${right.id}`, "write one attribute record per id, sorted by id");
    }
    previous = right.id;
    const attrs = right.attributes ?? {};
    if (typeof attrs !== "object" || Array.isArray(attrs)) {
      throw new ConsolidateError(`attribute dataset '${args.dataset}', id ${right.id}: attributes is not an object`, "write attribute records as { id, attributes: { name: value } }");
    }
    const merged: Row = { ...left.attributes };
    for (const [name, value] of Object.entries(attrs)) {
      if (name in merged) {
        throw new ConsolidateError(`attribute '${name}' of id ${right.id} comes from two datasets (the second is '${args.dataset}')`, "give attributes distinct names across datasets");
      }
      merged[name] = value;
    }
    return { record: left.record, attributes: merged };
  };
}

function count(ctx: UserContext, stage: "input" | "kept", source: string, bytes: number): void {
  ctx.counters.increment(`${stage}.documents:${source}`);
  ctx.counters.increment(`${stage}.bytes:${source}`, bytes);
}

/** Factory of the flatMap applying the filters: the kept record, or nothing (counted under `removed:<filter>`). */
export function applyFilters(args: { filters: ResolvedFilter[] }): (g: Gathered, ctx: UserContext) => Row[] {
  return (g, ctx) => {
    const source = typeof g.record.source === "string" ? g.record.source : "(none)";
    const text = g.record.text;
    const bytes = typeof text === "string" ? Buffer.byteLength(text) : 0;
    count(ctx, "input", source, bytes);
    const rejectedBy = firstRejecting(args.filters, g.attributes);
    if (rejectedBy !== null) {
      ctx.counters.increment(`removed:${rejectedBy}`);
      return [];
    }
    if (typeof text !== "string" || text.trim() === "") {
      ctx.counters.increment("emptyText");
      return [];
    }
    count(ctx, "kept", source, bytes);
    return [g.record];
  };
}

/** Factory of the mapShard building one quantile sketch per attribute over a shard of attribute records. */
export function sketchAttributes(args: { attributes: string[]; accuracy: number }) {
  return async function* (records: AsyncIterable<AttributeRecord>): AsyncIterable<Record<string, SketchJson>> {
    const sketches = Object.fromEntries(args.attributes.map((a) => [a, new QuantileSketch(args.accuracy)]));
    for await (const rec of records) {
      for (const a of args.attributes) {
        const v = rec.attributes?.[a];
        if (typeof v === "number") sketches[a].add(v);
      }
    }
    yield Object.fromEntries(Object.entries(sketches).map(([a, s]) => [a, s.toJSON()]));
  };
}
