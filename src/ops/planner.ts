/**
 * Logical plan → physical plan, and EXPLAIN. Narrow operators fuse into one stage (a chain of
 * iterators over a shard, nothing materialised). Exchanges end a stage: `reshard(n)` spreads rows
 * round-robin over n shards, `take(n)` limits each shard and gathers to one shard where the global
 * limit applies. Terminals decide what tasks hand back: `write` commits a file per shard, `count`
 * and `reduce` return one partial value per shard that the coordinator folds (gather + global
 * fold). Leading `where` filters and `select` push into parquet reads. Both plans are plain JSON.
 * groupBy and deduplicate end a stage with a scatter and start one with a shuffle reduce;
 * sortedMergeJoin materialises its left and right inputs per shard (the right plan's stages come
 * after the left's) and starts a join stage with as many shards as the left side.
 */
import path from "node:path";
import { DatasetPlanError } from "./errors.ts";
import type { FnSpec, JsonValue } from "./fn.ts";
import { OPERATOR_CLASS, operatorLabel } from "./logical.ts";
import type { ItemsOp, LogicalOp, LogicalPlan, NarrowOp, OutputFormat, Where } from "./logical.ts";

export type StageInput =
  | { kind: "read"; patterns: string[]; splitBytes?: number; format: "parquet" | "by-extension"; columns?: string[]; where?: Where[] }
  | { kind: "items"; items: JsonValue[]; shards: number }
  | { kind: "exchange"; fromStage: number; partitions: number }
  | { kind: "shuffle"; fromStage: number; opId: number; reduce: ShuffleReduce }
  | { kind: "join"; left: number; right: number; opId: number; leftKey: FnSpec; rightKey: FnSpec; how: "inner" | "left" };

/** What a reduce task does with the merged groups of its partition. */
export type ShuffleReduce = { kind: "groupBy"; reducer: FnSpec; combiner?: FnSpec } | { kind: "deduplicate" };

/** A fused operator: a narrow logical operator, or the per-shard/global limit of a take. */
export type StageOp = NarrowOp | { id: number; kind: "limit"; n: number };

export type StageOutput =
  | { kind: "exchange"; partitioning: "round-robin" | "single"; partitions: number; opId: number }
  | { kind: "scatter"; opId: number; operator: "groupBy" | "deduplicate"; key: FnSpec; sortBy?: FnSpec; combiner?: FnSpec; keepFirst?: true; partitions: number | "map-tasks" }
  | { kind: "materialize"; opId: number }
  | { kind: "collect" }
  | { kind: "count"; opId: number }
  | { kind: "fold"; opId: number; initial: JsonValue; fold: FnSpec; combine: FnSpec }
  | { kind: "write"; opId: number; pattern: string; format: OutputFormat; skipExisting: boolean };

export interface Stage {
  id: number;
  input: StageInput;
  ops: StageOp[];
  output: StageOutput;
  /** Known up front, one per input split once the inputs are listed, or as many as another stage ran. */
  shards: number | "input-splits" | { asStage: number };
}

export interface PhysicalPlan {
  version: 1;
  /** In execution order: a stage comes after every stage it reads from. */
  stages: Stage[];
  /** How the last stage's task results become the execution's result. */
  result: "rows" | "count" | "reduce" | "outputs";
}

export function planPhysical(logical: LogicalPlan): PhysicalPlan {
  const stages: Stage[] = [];
  const planned = planOps(logical.ops, stages);
  close(stages, planned.current);
  for (const stage of stages) pushIntoParquetRead(stage);
  return { version: 1, stages, result: planned.result };
}

/** Appends an open stage to the plan, giving it the next id. */
function close(stages: Stage[], stage: Stage): number {
  stage.id = stages.length;
  stages.push(stage);
  return stage.id;
}

function openStage(input: StageInput, shards: Stage["shards"]): Stage {
  return { id: -1, input, ops: [], output: { kind: "collect" }, shards };
}

/** Plans `ops` (a source first), closing finished stages into `stages`; returns the still open last stage. */
function planOps(ops: LogicalOp[], stages: Stage[]): { current: Stage; result: PhysicalPlan["result"] } {
  const [source, ...rest] = ops;
  if (!source || OPERATOR_CLASS[source.kind] !== "source") {
    throw new DatasetPlanError("a plan must start with Dataset.read() or Dataset.fromItems()", "build datasets from those two");
  }
  let current =
    source.kind === "read"
      ? openStage({ kind: "read", patterns: source.patterns, ...(source.splitBytes ? { splitBytes: source.splitBytes } : {}), format: allParquet(source.patterns) ? "parquet" : "by-extension" }, "input-splits")
      : openStage({ kind: "items", items: (source as ItemsOp).items, shards: (source as ItemsOp).shards }, (source as ItemsOp).shards);
  let result: PhysicalPlan["result"] = "rows";
  const startNext = (partitions: number, opId: number, partitioning: "round-robin" | "single"): void => {
    current.output = { kind: "exchange", partitioning, partitions, opId };
    const from = close(stages, current);
    current = openStage({ kind: "exchange", fromStage: from, partitions }, partitions);
  };
  rest.forEach((op, index) => {
    const cls = OPERATOR_CLASS[op.kind];
    if (cls === "source") throw new DatasetPlanError(`${operatorLabel(op)}: a source in the middle of a plan`, "start a new Dataset instead");
    if (cls === "terminal" && index !== rest.length - 1) {
      throw new DatasetPlanError(`${operatorLabel(op)} is not the last operator`, "count, reduce and write end a plan");
    }
    switch (op.kind) {
      case "take":
        current.ops.push({ id: op.id, kind: "limit", n: op.n });
        startNext(1, op.id, "single");
        current.ops.push({ id: op.id, kind: "limit", n: op.n });
        return;
      case "reshard":
        startNext(op.shards, op.id, "round-robin");
        return;
      case "groupBy": {
        current.output = { kind: "scatter", opId: op.id, operator: "groupBy", key: op.key, partitions: op.shards ?? "map-tasks" };
        if (op.sortBy) current.output.sortBy = op.sortBy;
        if (op.combiner) current.output.combiner = op.combiner;
        const from = close(stages, current);
        const reduce: ShuffleReduce = { kind: "groupBy", reducer: op.reducer };
        if (op.combiner) reduce.combiner = op.combiner;
        current = openStage({ kind: "shuffle", fromStage: from, opId: op.id, reduce }, op.shards ?? { asStage: from });
        return;
      }
      case "deduplicate": {
        current.output = { kind: "scatter", opId: op.id, operator: "deduplicate", key: op.key, keepFirst: true, partitions: op.shards ?? "map-tasks" };
        const from = close(stages, current);
        current = openStage({ kind: "shuffle", fromStage: from, opId: op.id, reduce: { kind: "deduplicate" } }, op.shards ?? { asStage: from });
        return;
      }
      case "sortedMergeJoin": {
        current.output = { kind: "materialize", opId: op.id };
        const left = close(stages, current);
        const rightSide = planOps(op.right.ops, stages);
        rightSide.current.output = { kind: "materialize", opId: op.id };
        const right = close(stages, rightSide.current);
        current = openStage({ kind: "join", left, right, opId: op.id, leftKey: op.leftKey, rightKey: op.rightKey, how: op.how }, { asStage: left });
        return;
      }
      case "count":
        current.output = { kind: "count", opId: op.id };
        result = "count";
        return;
      case "reduce":
        current.output = { kind: "fold", opId: op.id, initial: op.initial, fold: op.fold, combine: op.combine };
        result = "reduce";
        return;
      case "write":
        current.output = { kind: "write", opId: op.id, pattern: op.pattern, format: op.format, skipExisting: op.skipExisting };
        result = "outputs";
        return;
      default:
        current.ops.push(op as NarrowOp);
    }
  });
  return { current, result };
}

/**
 * Pushes leading `where` filters, and a `select` right after them, of stage 0 into its parquet
 * read: the reader reads only those columns and skips row groups and rows the predicates exclude.
 */
function pushIntoParquetRead(stage: Stage): void {
  const input = stage.input;
  if (input.kind !== "read" || input.format !== "parquet") return;
  const where: Where[] = [];
  let i = 0;
  for (; i < stage.ops.length; i++) {
    const op = stage.ops[i];
    if (op.kind !== "filter" || !op.where || op.fn) break;
    where.push(op.where);
  }
  let columns: string[] | undefined;
  let dropSelect = false;
  const next = stage.ops[i];
  if (next?.kind === "select") {
    const extra = [...new Set(where.map((w) => w.column))].filter((c) => !next.columns.includes(c));
    columns = [...next.columns, ...extra];
    dropSelect = extra.length === 0; // predicates need extra columns: read them, then still select
  }
  if (where.length === 0 && !columns) return;
  // The reader only skips rows the filter would drop too, so the filter operators stay in the chain.
  if (dropSelect) stage.ops = [...stage.ops.slice(0, i), ...stage.ops.slice(i + 1)];
  if (where.length) input.where = where;
  if (columns) input.columns = columns;
}

function allParquet(patterns: string[]): boolean {
  return patterns.every((p) => p.endsWith(".parquet"));
}

/** Text form of both plans; the same plan always prints the same text. */
export function explainPlan(logical: LogicalPlan): string {
  const physical = planPhysical(logical);
  const lines = ["== logical plan =="];
  for (const op of logical.ops) lines.push(`  ${describeLogical(op)}`);
  lines.push("== physical plan ==");
  for (const stage of physical.stages) {
    lines.push(`stage ${stage.id} (${describeShards(stage.shards)})`);
    lines.push(`  input:  ${describeInput(stage.input)}`);
    lines.push(`  fused:  ${stage.ops.length ? stage.ops.map(describeStageOp).join(" -> ") : "(none)"}`);
    lines.push(`  output: ${describeOutput(stage.output)}`);
  }
  lines.push(`result: ${describeResult(physical.result)}`);
  return lines.join("\n") + "\n";
}

function describeShards(shards: Stage["shards"]): string {
  if (shards === "input-splits") return "one shard per input split";
  if (typeof shards === "object") return `as many shards as stage ${shards.asStage}`;
  return `${shards} shard${shards === 1 ? "" : "s"}`;
}

function describeLogical(op: LogicalOp): string {
  const label = `#${op.id} ${op.kind}`;
  switch (op.kind) {
    case "read":
      return `${label} ${JSON.stringify(op.patterns.map(displayPath))}${op.splitBytes ? ` splitBytes=${op.splitBytes}` : ""}`;
    case "items":
      return `${label} ${op.items.length} inline rows over ${op.shards} shard(s)`;
    case "map":
    case "flatMap":
    case "mapShard":
      return `${label} ${describeFn(op.fn)}`;
    case "filter":
      return `${label} ${op.where ? describeWhere(op.where) : describeFn(op.fn!)}`;
    case "select":
      return `${label} ${JSON.stringify(op.columns)}`;
    case "window":
      return `${label} size=${op.size}`;
    case "take":
      return `${label} n=${op.n}`;
    case "reshard":
      return `${label} shards=${op.shards}`;
    case "groupBy":
      return (
        `${label} key=${describeFn(op.key)} reducer=${describeFn(op.reducer)}` +
        `${op.sortBy ? ` sortBy=${describeFn(op.sortBy)}` : ""}${op.combiner ? ` combiner=${describeFn(op.combiner)}` : ""}${op.shards ? ` shards=${op.shards}` : ""}`
      );
    case "deduplicate":
      return `${label} key=${describeFn(op.key)} keep=first${op.shards ? ` shards=${op.shards}` : ""}`;
    case "sortedMergeJoin":
      return `${label} how=${op.how} leftKey=${describeFn(op.leftKey)} rightKey=${describeFn(op.rightKey)} right=[${op.right.ops.map(describeLogical).join("; ")}]`;
    case "count":
      return label;
    case "reduce":
      return `${label} initial=${JSON.stringify(op.initial)} fold=${describeFn(op.fold)} combine=${describeFn(op.combine)}`;
    case "write":
      return `${label} ${JSON.stringify(displayPath(op.pattern))} format=${op.format}${op.skipExisting ? " skipExisting" : ""}`;
  }
}

function describeStageOp(op: StageOp): string {
  if (op.kind === "limit") return `limit ${op.n} (take #${op.id})`;
  if (op.kind === "filter" && op.where) return `filter #${op.id} where ${describeWhere(op.where).slice(6)}`;
  return operatorLabel(op as { id: number; kind: string; fn?: FnSpec });
}

function describeInput(input: StageInput): string {
  switch (input.kind) {
    case "read": {
      const parts = [`read ${input.format === "parquet" ? "parquet" : "(format by extension)"} ${JSON.stringify(input.patterns.map(displayPath))}`];
      if (input.columns) parts.push(`columns=${JSON.stringify(input.columns)} (pushed down)`);
      if (input.where) parts.push(`where ${input.where.map((w) => describeWhere(w).slice(6)).join(" and ")} (pushed down)`);
      return parts.join(" ");
    }
    case "items":
      return `${input.items.length} inline rows`;
    case "exchange":
      return `exchange from stage ${input.fromStage} (${input.partitions} partition${input.partitions === 1 ? "" : "s"})`;
    case "shuffle": {
      const what = input.reduce.kind === "groupBy"
        ? `groups to ${describeFn(input.reduce.reducer)}${input.reduce.combiner ? `, combining with ${describeFn(input.reduce.combiner)}` : ""}`
        : "first row per key";
      return `shuffle reduce from stage ${input.fromStage}: merge-sorted partition, ${what} (${input.reduce.kind} #${input.opId})`;
    }
    case "join":
      return (
        `sorted merge ${input.how} join of stage ${input.left} shard i with stage ${input.right} shard i ` +
        `on ${describeFn(input.leftKey)} = ${describeFn(input.rightKey)} (sortedMergeJoin #${input.opId})`
      );
  }
}

function describeOutput(output: StageOutput): string {
  switch (output.kind) {
    case "exchange":
      return `exchange ${output.partitioning} to ${output.partitions} partition${output.partitions === 1 ? "" : "s"} (${output.partitioning === "single" ? "take" : "reshard"} #${output.opId})`;
    case "scatter": {
      const parts = [`scatter by ${describeFn(output.key)} to ${output.partitions === "map-tasks" ? "as many partitions as shards" : `${output.partitions} partition${output.partitions === 1 ? "" : "s"}`}`];
      if (output.sortBy) parts.push(`sortBy ${describeFn(output.sortBy)}`);
      if (output.combiner) parts.push(`combiner ${describeFn(output.combiner)}`);
      if (output.keepFirst) parts.push("keeping the first row per key");
      return `${parts.join(", ")} (${output.operator} #${output.opId})`;
    }
    case "materialize":
      return `one file per shard for the join (sortedMergeJoin #${output.opId})`;
    case "collect":
      return "collect rows";
    case "count":
      return `partial count per shard (count #${output.opId})`;
    case "fold":
      return `local fold ${describeFn(output.fold)} per shard (reduce #${output.opId})`;
    case "write":
      return `write ${JSON.stringify(displayPath(output.pattern))} ${output.format}${output.skipExisting ? " skipExisting" : ""} (write #${output.opId})`;
  }
}

function describeResult(result: PhysicalPlan["result"]): string {
  switch (result) {
    case "rows":
      return "rows concatenated in shard order";
    case "count":
      return "gather partial counts, sum";
    case "reduce":
      return "gather partial values, global fold with combine in shard order";
    case "outputs":
      return "list of committed output files";
  }
}

function describeFn(spec: FnSpec): string {
  if (spec.kind === "closure") return "closure";
  const args = spec.args === undefined ? "" : `(${JSON.stringify(spec.args)})`;
  return `${displayPath(spec.module)}#${spec.export}${args}`;
}

function describeWhere(w: Where): string {
  return `where ${w.column} ${w.op} ${JSON.stringify(w.value)}`;
}

/** Module URLs and paths relative to the working directory, so EXPLAIN does not depend on the checkout. */
function displayPath(p: string): string {
  const file = p.startsWith("file://") ? new URL(p).pathname : p;
  if (path.isAbsolute(file)) {
    const rel = path.relative(process.cwd(), file);
    if (!rel.startsWith("..")) return rel;
  }
  return p;
}
