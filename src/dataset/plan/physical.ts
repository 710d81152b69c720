/**
 * The physical plan: stages of shard tasks, as plain JSON. A stage reads one input (files, inline
 * rows, the partitions an exchange or a shuffle wrote, or the rows an iterate round carried), runs
 * a chain of fused operators over each shard, and hands its rows to one output (an exchange, a
 * scatter into shuffle partitions, the gathered rows, a count, a fold, or files). Each kind of input
 * and output is one physical operator in src/dataset/physical/ (planning, task descriptors, the
 * task side, EXPLAIN); this file holds the shapes of their stage-level data, which the planner, the
 * coordinator, the operators and EXPLAIN share (task-level shapes are in exec/task.ts).
 */
import type { FnSpec, JsonValue } from "../fn.ts";
import type { BadRecordPolicy, JoinHow, NarrowOp, WriteOp, WriteTarget, Where } from "../logical.ts";

// --- stage inputs -------------------------------------------------------------------------------

/** read: files, one shard per input split, with pushed-down columns and filters. */
export type ReadInput = {
  kind: "read";
  patterns: string[];
  splitBytes?: number;
  format: "parquet" | "by-extension";
  columns?: string[];
  where?: Where[];
  onBadRecord: BadRecordPolicy;
  quarantine?: string;
};

/** items: inline rows spread over a fixed number of shards. */
export type ItemsInput = { kind: "items"; items: JsonValue[]; shards: number };

/** exchange partitionings: round-robin (reshard), single (take's gather), aligned (shard i reads upstream shard i). */
export type Partitioning = "round-robin" | "single" | "aligned";

/** `operator` names the logical operator the exchange serves (take, reshard, sortedMergeJoin, iterate). */
export type ExchangeOutput = { kind: "exchange"; partitioning: Partitioning; partitions: number | "aligned"; opId: number; operator: string };

export type ExchangeInput = { kind: "exchange"; fromStage: number; partitioning: Partitioning; partitions: number | "aligned" };

/** What a reduce task does with the merged groups of its partition. */
export type ShuffleReduce = { kind: "groupBy"; reducer: FnSpec; combiner?: FnSpec } | { kind: "deduplicate" } | { kind: "partitionBy" };

export type ScatterOutput = {
  kind: "scatter";
  opId: number;
  operator: "groupBy" | "deduplicate" | "partitionBy";
  key: FnSpec;
  sortBy?: FnSpec;
  combiner?: FnSpec;
  keepFirst?: true;
  partitions: number | "map-tasks";
};

export type ShuffleInput = { kind: "shuffle"; fromStage: number; opId: number; reduce: ShuffleReduce };

/** Where a join's right rows come from: read directly by each task, or the aligned files of an earlier stage. */
export type JoinSide = { kind: "direct"; input: StageInput; ops: StageOp[] } | { kind: "stage"; stage: number };

export type JoinStageOp = { id: number; kind: "join"; leftKey: FnSpec; rightKey: FnSpec; how: JoinHow; right: JoinSide };

/** A run of consecutive stages that iterate repeats. */
export type LoopSpec = {
  opId: number;
  /** The first and last stage of the body. */
  first: number;
  last: number;
  /** The stage whose aligned files feed round 0. */
  from: number;
  until: string;
  maxRounds: number;
};

export type LoopInput = { kind: "loop"; loop: number };

// --- stage outputs (terminals) ------------------------------------------------------------------

export type CollectOutput = { kind: "collect" };

export type CountOutput = { kind: "count"; opId: number };

export type FoldOutput = { kind: "fold"; opId: number; initial: JsonValue; fold: FnSpec; combine: FnSpec };

/** write's settings as the plan carries them (targets aside). */
export type WriteSettings = Omit<WriteOp, "id" | "kind" | "targets">;
export type WriteOutput = { kind: "write"; opId: number; targets: WriteTarget[] } & WriteSettings;

export type StageInput = ReadInput | ItemsInput | ExchangeInput | ShuffleInput | LoopInput;
export type StageOutput = ExchangeOutput | ScatterOutput | CollectOutput | CountOutput | FoldOutput | WriteOutput;

/** The per-shard limit of `take(n)`, before and after its gather. */
export type LimitOp = { id: number; kind: "limit"; n: number };
/** A fused operator: a narrow logical operator, a limit, or a sorted merge join with its right side. */
export type StageOp = NarrowOp | LimitOp | JoinStageOp;

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
  /** Runs of consecutive stages repeated by `iterate`, outermost first. */
  loops: LoopSpec[];
  /** How the last stage's task results become the execution's result. */
  result: "rows" | "count" | "reduce" | "outputs";
}
