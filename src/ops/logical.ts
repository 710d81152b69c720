/**
 * The logical plan: the operators a Dataset was built from, in order, as plain JSON. Each operator
 * has a 1-based `id` (its position) so that errors and EXPLAIN name it as `map #2`. Operators fall
 * into three classes, which is what the planner looks at (see OPERATOR_CLASS):
 *  - narrow: run row by row (or shard by shard) inside one stage, fused with their neighbours;
 *  - exchange: end a stage and start another with a different partitioning (reshard, take);
 *  - terminal: decide what a stage's tasks hand back (write, count, reduce).
 * The shuffle operators are exchanges too: groupBy and deduplicate end a stage with a scatter
 * (hash-partitioned, sorted zstd frames) and start one with a reduce that merges them;
 * sortedMergeJoin materialises both of its inputs shard by shard and joins shard i with shard i.
 * A join's second input is carried inside its operator as a nested LogicalPlan, so plans remain JSON.
 */
import type { FnSpec, JsonValue } from "./fn.ts";

export type InputFormat = "jsonl" | "jsonl.zst" | "jsonl.gz" | "parquet";
export type OutputFormat = "jsonl" | "jsonl.zst" | "parquet";

/** A filter expressed as data, which the planner can push into a parquet read. */
export interface Where {
  kind: "kiln.where";
  column: string;
  op: "==" | "!=" | "<" | "<=" | ">" | ">=" | "in";
  value: JsonValue;
}

export type ReadOp = { id: number; kind: "read"; patterns: string[]; splitBytes?: number };
export type ItemsOp = { id: number; kind: "items"; items: JsonValue[]; shards: number };
export type SourceOp = ReadOp | ItemsOp;

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
/** A join's right input travels inside the operator as a nested logical plan (no terminal). */
export type JoinOp = { id: number; kind: "sortedMergeJoin"; right: LogicalPlan; leftKey: FnSpec; rightKey: FnSpec; how: "inner" | "left" };

export type ExchangeOp =
  | { id: number; kind: "take"; n: number }
  | { id: number; kind: "reshard"; shards: number }
  | GroupByOp
  | DeduplicateOp
  | JoinOp;

export type TerminalOp =
  | { id: number; kind: "count" }
  | { id: number; kind: "reduce"; initial: JsonValue; fold: FnSpec; combine: FnSpec }
  | { id: number; kind: "write"; pattern: string; format: OutputFormat; skipExisting: boolean };

export type LogicalOp = SourceOp | NarrowOp | ExchangeOp | TerminalOp;

export interface LogicalPlan {
  version: 1;
  ops: LogicalOp[];
}

export const OPERATOR_CLASS: Record<LogicalOp["kind"], "source" | "narrow" | "exchange" | "terminal"> = {
  read: "source",
  items: "source",
  map: "narrow",
  flatMap: "narrow",
  filter: "narrow",
  select: "narrow",
  mapShard: "narrow",
  window: "narrow",
  take: "exchange",
  reshard: "exchange",
  groupBy: "exchange",
  deduplicate: "exchange",
  sortedMergeJoin: "exchange",
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

/** Every user function slot of an operator (a join's right plan included), with the label an error should use for it. */
export function functionSlots(op: LogicalOp): Array<{ label: string; fn: FnSpec }> {
  const slot = (fn: FnSpec | undefined, role: string) => (fn ? [{ label: `${operatorLabel({ id: op.id, kind: op.kind, fn })} ${role}`, fn }] : []);
  switch (op.kind) {
    case "groupBy":
      return [...slot(op.key, "key"), ...slot(op.reducer, "reducer"), ...slot(op.sortBy, "sortBy"), ...slot(op.combiner, "combiner")];
    case "deduplicate":
      return slot(op.key, "key");
    case "sortedMergeJoin":
      return [...slot(op.leftKey, "leftKey"), ...slot(op.rightKey, "rightKey"), ...op.right.ops.flatMap(functionSlots)];
    case "map":
    case "flatMap":
    case "mapShard":
      return [{ label: operatorLabel(op), fn: op.fn }];
    case "filter":
      return op.fn ? [{ label: operatorLabel(op), fn: op.fn }] : [];
    case "reduce":
      return [
        { label: `${operatorLabel({ id: op.id, kind: "reduce", fn: op.fold })} fold`, fn: op.fold },
        { label: `${operatorLabel({ id: op.id, kind: "reduce", fn: op.combine })} combine`, fn: op.combine },
      ];
    default:
      return [];
  }
}

/** Evaluates a `where` predicate on one row. */
export function evaluateWhere(where: Where, row: unknown): boolean {
  const v = row !== null && typeof row === "object" ? (row as Record<string, unknown>)[where.column] : undefined;
  const w = where.value as unknown;
  switch (where.op) {
    case "==":
      return v === w;
    case "!=":
      return v !== w;
    case "<":
      return (v as number) < (w as number);
    case "<=":
      return (v as number) <= (w as number);
    case ">":
      return (v as number) > (w as number);
    case ">=":
      return (v as number) >= (w as number);
    case "in":
      return Array.isArray(w) && w.includes(v as JsonValue);
  }
}
