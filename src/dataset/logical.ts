/**
 * The logical plan: the operators a Dataset was built from, in order, as plain JSON. Each operator
 * has a 1-based `id` (its position) so that errors and EXPLAIN name it as `map #2`. Operators fall
 * into classes, which is what the planner looks at (see OPERATOR_CLASS):
 *  - source: where rows come from (files, inline items, or the carried rows of an `iterate` body);
 *  - narrow: run row by row (or shard by shard) inside one stage, fused with their neighbours;
 *    `sortedMergeJoin` is narrow too: it walks shard i of its right input beside the stream;
 *  - exchange: end a stage and start another with a different partitioning (reshard, take,
 *    groupBy, deduplicate) or repeat a sub-plan (iterate);
 *  - terminal: decide what a stage's tasks hand back (write, count, reduce).
 * A join's right input and an iterate's body travel inside their operators as nested logical plans,
 * so plans remain JSON.
 */
import type { FnSpec, JsonValue } from "./fn.ts";

export type InputFormat = "jsonl" | "jsonl.zst" | "jsonl.gz" | "parquet";
export type OutputFormat = "jsonl" | "jsonl.zst" | "parquet" | "tokens";

/** What a read does with a record it cannot decode: fail the task, skip it (counted), or set it aside. */
export type BadRecordPolicy = "fail" | "skip" | "quarantine";

/** Column types of a parquet output (see src/io/parquet.ts); every column is nullable. */
export type ColumnType = "string" | "int64" | "float64" | "bool" | "json" | { struct: Record<string, ColumnType> } | { list: ColumnType };
export type OutputSchema = Record<string, ColumnType>;

/** A filter expressed as data, which the planner can push into a parquet read. */
export interface Where {
  kind: "kiln.where";
  column: string;
  op: "==" | "!=" | "<" | "<=" | ">" | ">=" | "in";
  value: JsonValue;
}

export type ReadOp = {
  id: number;
  kind: "read";
  patterns: string[];
  splitBytes?: number;
  onBadRecord?: BadRecordPolicy;
  /** Folder the quarantined records of each shard are written to (policy "quarantine"). */
  quarantine?: string;
};
export type ItemsOp = { id: number; kind: "items"; items: JsonValue[]; shards: number };
/** The first operator of an iterate body: the rows the previous round produced. */
export type LoopInputOp = { id: number; kind: "loopInput" };
export type SourceOp = ReadOp | ItemsOp | LoopInputOp;

/** inner: matched pairs; left: also unmatched left rows (right null); outer: also unmatched right rows (left null). */
export type JoinHow = "inner" | "left" | "outer";
/** A join's right input travels inside the operator as a nested logical plan (no terminal). */
export type JoinOp = { id: number; kind: "sortedMergeJoin"; right: LogicalPlan; leftKey: FnSpec; rightKey: FnSpec; how: JoinHow };

export type NarrowOp =
  | { id: number; kind: "map"; fn: FnSpec }
  | { id: number; kind: "flatMap"; fn: FnSpec }
  | { id: number; kind: "filter"; fn?: FnSpec; where?: Where }
  | { id: number; kind: "select"; columns: string[] }
  | { id: number; kind: "mapShard"; fn: FnSpec }
  | { id: number; kind: "window"; size: number };

/** Shuffle options shared by groupBy and deduplicate: the reduce side's shard count (default: the map side's). */
export type GroupByOp = { id: number; kind: "groupBy"; key: FnSpec; reducer: FnSpec; sortBy?: FnSpec; combiner?: FnSpec; shards?: number };
export type DeduplicateOp = { id: number; kind: "deduplicate"; key: FnSpec; shards?: number };
/** Hash-partitions rows by key into `shards` shards, each sorted by (key, sortBy): a sorted co-partitioned layout. */
export type PartitionByOp = { id: number; kind: "partitionBy"; key: FnSpec; sortBy?: FnSpec; shards?: number };
/**
 * Runs `body` (a plan starting with `loopInput`) on the rows, then again on what it produced, until
 * a round adds nothing to the user counter `until` (or `maxRounds` rounds ran, which fails).
 */
export type IterateOp = { id: number; kind: "iterate"; body: LogicalPlan; until: string; maxRounds: number };

export type ExchangeOp = { id: number; kind: "take"; n: number } | { id: number; kind: "reshard"; shards: number } | GroupByOp | DeduplicateOp | PartitionByOp | IterateOp;

/** One target of a write: rows routed to `tag` go to `pattern` (with {shard} and {total}). */
export interface WriteTarget {
  tag: string;
  pattern: string;
}

export type WriteOp = {
  id: number;
  kind: "write";
  targets: WriteTarget[];
  /** Present when there are several targets: returns each row's tag. */
  route?: FnSpec;
  format: OutputFormat;
  skipExisting: boolean;
  /** Parquet column types; empty files carry them too. */
  schema?: OutputSchema;
  /** Write no file for a shard (and tag) that got no rows. */
  omitEmpty?: boolean;
  /** Token shards: the vocabulary size (uint16 tokens up to 65536 ids, uint32 above). */
  vocabSize?: number;
};

export type TerminalOp =
  | { id: number; kind: "count" }
  | { id: number; kind: "reduce"; initial: JsonValue; fold: FnSpec; combine: FnSpec }
  | WriteOp;

export type LogicalOp = SourceOp | NarrowOp | JoinOp | ExchangeOp | TerminalOp;

export interface LogicalPlan {
  version: 1;
  ops: LogicalOp[];
}

export const OPERATOR_CLASS: Record<LogicalOp["kind"], "source" | "narrow" | "exchange" | "terminal"> = {
  read: "source",
  items: "source",
  loopInput: "source",
  map: "narrow",
  flatMap: "narrow",
  filter: "narrow",
  select: "narrow",
  mapShard: "narrow",
  window: "narrow",
  sortedMergeJoin: "narrow",
  take: "exchange",
  reshard: "exchange",
  groupBy: "exchange",
  deduplicate: "exchange",
  partitionBy: "exchange",
  iterate: "exchange",
  count: "terminal",
  reduce: "terminal",
  write: "terminal",
};

/** How errors and EXPLAIN name an operator: `map #2`, `map #2 (closure)`. */
export function operatorLabel(op: { id: number; kind: string; fn?: FnSpec }): string {
  const base = `${op.kind} #${op.id}`;
  if (op.fn?.kind === "closure") return `${base} (closure)`;
  if (op.fn?.kind === "kiln.fn") return `${base} (${op.fn.export})`;
  return base;
}

/** Every user function slot of an operator (nested plans included), with the label an error should use for it. */
export function functionSlots(op: LogicalOp): Array<{ label: string; fn: FnSpec }> {
  const slot = (fn: FnSpec | undefined, role: string) => (fn ? [{ label: `${operatorLabel({ id: op.id, kind: op.kind, fn })} ${role}`, fn }] : []);
  switch (op.kind) {
    case "groupBy":
      return [...slot(op.key, "key"), ...slot(op.reducer, "reducer"), ...slot(op.sortBy, "sortBy"), ...slot(op.combiner, "combiner")];
    case "deduplicate":
      return slot(op.key, "key");
    case "partitionBy":
      return [...slot(op.key, "key"), ...slot(op.sortBy, "sortBy")];
    case "sortedMergeJoin":
      return [...slot(op.leftKey, "leftKey"), ...slot(op.rightKey, "rightKey"), ...op.right.ops.flatMap(functionSlots)];
    case "iterate":
      return op.body.ops.flatMap(functionSlots);
    case "map":
    case "flatMap":
    case "mapShard":
      return [{ label: operatorLabel(op), fn: op.fn }];
    case "filter":
      return op.fn ? [{ label: operatorLabel(op), fn: op.fn }] : [];
    case "reduce":
      return [...slot(op.fold, "fold"), ...slot(op.combine, "combine")];
    case "write":
      return slot(op.route, "route");
    default:
      return [];
  }
}

/** Evaluates a `where` predicate on one row. */
export function evaluateWhere(where: Where, row: unknown): boolean {
  const v: unknown = row !== null && typeof row === "object" ? Reflect.get(row, where.column) : undefined;
  const w: unknown = where.value;
  switch (where.op) {
    case "==":
      return v === w;
    case "!=":
      return v !== w;
    case "<":
      return compareLoose(v, w) < 0;
    case "<=":
      return compareLoose(v, w) <= 0;
    case ">":
      return compareLoose(v, w) > 0;
    case ">=":
      return compareLoose(v, w) >= 0;
    case "in":
      return Array.isArray(w) && w.includes(v);
  }
}

/** Orders two numbers or two strings; anything else is unordered (NaN: every comparison false). */
function compareLoose(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return Number.NaN;
}
