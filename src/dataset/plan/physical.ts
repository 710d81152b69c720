/**
 * The physical plan: stages of shard tasks, as plain JSON. A stage reads one input (files, inline
 * rows, the partitions an exchange or a shuffle wrote, or the rows an iterate round carried), runs
 * a chain of fused operators over each shard, and hands its rows to one output (an exchange, a
 * scatter into shuffle partitions, the gathered rows, a count, a fold, or files). Each kind of input
 * and output is one physical operator in src/dataset/physical/ (planning, task descriptors, the
 * task side, EXPLAIN); this file only gathers their shapes into the unions the planner, the
 * coordinator and the task runner share.
 */
import type { NarrowOp } from "../logical.ts";
import type { ExchangeInput, ExchangeOutput } from "../physical/exchange.ts";
import type { ItemsInput } from "../physical/items.ts";
import type { JoinStageOp } from "../physical/join.ts";
import type { LoopInput, LoopSpec } from "../physical/loop.ts";
import type { ReadInput } from "../physical/read.ts";
import type { ScatterOutput, ShuffleInput } from "../physical/shuffle.ts";
import type { CollectOutput, CountOutput, FoldOutput } from "../physical/gather.ts";
import type { WriteOutput } from "../physical/write.ts";

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
