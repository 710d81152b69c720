/**
 * The dispatch from a stage's input and output kinds to their physical operators: how a stage
 * becomes task inputs and outputs (coordinator side), how a task opens its input and runs its
 * output, what runs after a stage, and how EXPLAIN prints them. Every operator's logic lives in its
 * own file; this is the only place that switches over the kinds.
 */
import type { PlanContext, TaskEnv } from "../exec/context.ts";
import { exchangeOperator } from "./exchange.ts";
import { collectOperator, countOperator, foldOperator } from "./gather.ts";
import { itemsOperator } from "./items.ts";
import { loopOperator } from "./loop.ts";
import { readOperator } from "./read.ts";
import { shuffleOperator } from "./shuffle.ts";
import { writeOperator } from "./write.ts";
import type { Stage, StageInput, StageOutput, PhysicalPlan } from "../plan/physical.ts";
import type { TaskInput, TaskOutput, TaskSuccess } from "../exec/task.ts";

/** One task input per shard of `stage`. */
export async function inputTasks(stage: Stage, ctx: PlanContext): Promise<TaskInput[]> {
  const input = stage.input;
  switch (input.kind) {
    case "read":
      return readOperator.tasks(input, ctx);
    case "items":
      return itemsOperator.tasks(input);
    case "exchange":
      return exchangeOperator.inputTasks(input, ctx);
    case "shuffle":
      return shuffleOperator.inputTasks(input, stage, ctx);
    case "loop":
      return loopOperator.inputTasks(input, ctx);
  }
}

/** Task inputs of a stage input that needs no earlier stage (a join's directly read right side). */
export async function sourceTasks(input: StageInput, ctx: PlanContext): Promise<TaskInput[]> {
  return inputTasks({ id: -1, input, ops: [], output: { kind: "collect" }, shards: "input-splits" }, ctx);
}

export function openInput(task: TaskInput, env: TaskEnv): AsyncIterable<unknown[]> {
  switch (task.kind) {
    case "split":
      return readOperator.open(task, env);
    case "items":
      return itemsOperator.open(task, env);
    case "exchange":
      return exchangeOperator.open(task, env);
    case "shuffle":
      return shuffleOperator.open(task, env);
  }
}

/** One task output per shard of `stage`. */
export async function outputTasks(stage: Stage, shardCount: number, ctx: PlanContext): Promise<TaskOutput[]> {
  const out = stage.output;
  switch (out.kind) {
    case "exchange":
      return exchangeOperator.outputTasks(out, stage, shardCount, ctx);
    case "scatter":
      return shuffleOperator.outputTasks(out, stage, shardCount, ctx);
    case "collect":
    case "count":
      return new Array(shardCount).fill(out);
    case "fold":
      return foldOperator.tasks(out, shardCount);
    case "write":
      return writeOperator.outputTasks(out, shardCount);
  }
}

export function runOutput(task: TaskOutput, batches: AsyncIterable<unknown[]>, env: TaskEnv): Promise<TaskSuccess> {
  switch (task.kind) {
    case "exchange":
      return exchangeOperator.run(task, batches, env);
    case "scatter":
      return shuffleOperator.run(task, batches, env);
    case "collect":
      return collectOperator.run(batches, env);
    case "count":
      return countOperator.run(batches, env);
    case "fold":
      return foldOperator.run(task, batches, env);
    case "write":
      return writeOperator.run(task, batches, env);
  }
}

/** What runs on the coordinator once every task of `stage` succeeded. */
export async function finishStage(stage: Stage, results: TaskSuccess[], ctx: PlanContext): Promise<void> {
  if (stage.output.kind === "scatter") await shuffleOperator.finish(stage, results, ctx);
  if (stage.output.kind === "write") await writeOperator.finish(stage.output, results);
}

export function describeInput(input: StageInput, plan: Pick<PhysicalPlan, "loops">): string {
  switch (input.kind) {
    case "read":
      return readOperator.describe(input);
    case "items":
      return itemsOperator.describe(input);
    case "exchange":
      return exchangeOperator.describeInput(input);
    case "shuffle":
      return shuffleOperator.describeInput(input);
    case "loop":
      return loopOperator.describeInput(input, plan);
  }
}

export function describeOutput(output: StageOutput): string {
  switch (output.kind) {
    case "exchange":
      return exchangeOperator.describeOutput(output);
    case "scatter":
      return shuffleOperator.describeOutput(output);
    case "collect":
      return collectOperator.describe();
    case "count":
      return countOperator.describe(output);
    case "fold":
      return foldOperator.describe(output);
    case "write":
      return writeOperator.describe(output);
  }
}
