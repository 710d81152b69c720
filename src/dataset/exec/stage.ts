/**
 * Running one stage: turn it into task descriptors (input, output and join sides per shard, from
 * its physical operators), run them on the task runner with bounded concurrency and retries, fold
 * their counters, and let the output's operator finish (remove losing shuffle attempts, write empty
 * parquet files with their schema). A stage of one task over inline rows or one input split of at
 * most 32 MiB runs on the coordinator's thread when the runner's tasks would run in this process
 * anyway (no thread hop, no second copy of a tokenizer or model its functions load). A task is tried up to `maxAttempts` times; an
 * error that cannot pass on a retry fails at once. Once a shard has failed for good, queued tasks do not start and
 * running ones do not retry.
 */
import pLimit from "p-limit";
import { isRetryable } from "../../errors.ts";
import { TaskError } from "../errors.ts";
import type { Stage } from "../plan/physical.ts";
import { joinOperator } from "../physical/join.ts";
import { finishStage, inputTasks, outputTasks, sourceTasks } from "../physical/index.ts";
import type { PlanContext } from "./context.ts";
import { addTaskCounters } from "./counters.ts";
import type { StageCounters } from "./counters.ts";
import type { TaskRunner } from "./inline.ts";
import type { ProgressReporter } from "./progress.ts";
import { deserializeError, emptyCounters } from "./task.ts";
import type { SideInput, TaskDescriptor, TaskSuccess } from "./task.ts";

export interface StageEnv {
  runner: TaskRunner;
  /** Runs a stage of a single task on this thread (set when `runner` runs tasks in this process anyway). */
  single?: TaskRunner;
  log(line: string): void;
  progress: ProgressReporter;
  ctx: PlanContext;
  label: string;
  signal?: AbortSignal;
  maxAttempts: number;
}

export async function runStage(stage: Stage, counters: StageCounters, env: StageEnv): Promise<TaskSuccess[]> {
  const started = performance.now();
  const tasks = await stageTasks(stage, env.ctx, env.label);
  counters.shards = tasks.length;
  const runner = env.single && isSmallLoneTask(tasks) ? env.single : env.runner;
  env.progress.stageStarted(stage.id, tasks.length);
  const limit = pLimit(Math.max(1, runner.concurrency));
  const failure = { failed: false };
  const run = (batch: TaskDescriptor[]) =>
    Promise.all(
      batch.map((task) =>
        limit(async () => {
          const result = await runWithRetries(task, counters, { ...env, runner }, failure);
          addTaskCounters(counters, result.counters);
          if (result.skipped) counters.skipped++;
          env.progress.taskFinished(stage.id, result.counters);
          return result;
        }),
      ),
    );
  const wanted = rowsWanted(stage);
  const results = wanted === undefined ? await run(tasks) : await runUntil(tasks, wanted, run, runner.concurrency);
  await finishStage(stage, results, env.ctx);
  counters.wallMs = (counters.wallMs ?? 0) + Math.round(performance.now() - started);
  env.progress.stageFinished(stage.id);
  return results;
}

/** The rows a stage needs in all, when it feeds take(n)'s gather: its tasks can stop once they have them. */
function rowsWanted(stage: Stage): number | undefined {
  const last = stage.ops[stage.ops.length - 1];
  return stage.output.kind === "exchange" && stage.output.partitioning === "single" && last?.kind === "limit" ? last.n : undefined;
}

/**
 * Runs the tasks of a take's stage in shard order, in waves that double from the runner's
 * concurrency, until the rows produced reach `wanted`; the shards not run yield nothing (take keeps
 * the first rows in shard order, so they could not contribute). A sample of a large input reads only
 * as many shards as it needs.
 */
async function runUntil(tasks: TaskDescriptor[], wanted: number, run: (batch: TaskDescriptor[]) => Promise<TaskSuccess[]>, concurrency: number): Promise<TaskSuccess[]> {
  const results: TaskSuccess[] = [];
  let produced = 0;
  for (let next = 0, wave = Math.max(1, concurrency); next < tasks.length; next += wave, wave *= 2) {
    if (produced >= wanted) {
      results.push(...tasks.slice(next).map((): TaskSuccess => ({ ok: true, counters: emptyCounters(), exchangeFiles: [] })));
      break;
    }
    const done = await run(tasks.slice(next, next + wave));
    produced += done.reduce((s, r) => s + r.counters.recordsOut, 0);
    results.push(...done);
  }
  return results;
}

/** Input bytes up to which a stage's only task runs on the coordinator's thread (a longer one would keep it busy). */
const INLINE_MAX_BYTES = 32 * 1024 * 1024;

/** A stage of one task over inline rows or one small input split. */
function isSmallLoneTask(tasks: TaskDescriptor[]): boolean {
  if (tasks.length !== 1) return false;
  const input = tasks[0].input;
  return input.kind === "items" || (input.kind === "split" && input.split.end - input.split.start <= INLINE_MAX_BYTES);
}

/** One descriptor per shard of `stage` (attempt filled in when run). */
async function stageTasks(stage: Stage, ctx: PlanContext, label: string): Promise<TaskDescriptor[]> {
  const inputs = await inputTasks(stage, ctx);
  const shardCount = inputs.length;
  const outputs = await outputTasks(stage, shardCount, ctx);
  const sides: Array<Record<string, SideInput>> = inputs.map(() => ({}));
  for (const [index, op] of stage.ops.entries()) {
    if (op.kind !== "join") continue;
    const perShard = await joinOperator.sides(op, shardCount, ctx, (input) => sourceTasks(input, ctx));
    perShard.forEach((side, shard) => (sides[shard][String(index)] = side));
  }
  return inputs.map((input, shard) => ({
    version: 1,
    executionId: ctx.executionId,
    label,
    stageId: stage.id,
    round: ctx.round,
    ops: stage.ops,
    sides: sides[shard],
    shard,
    shardCount,
    attempt: 1,
    input,
    output: outputs[shard],
  }));
}

async function runWithRetries(task: TaskDescriptor, counters: StageCounters, env: StageEnv, failure: { failed: boolean }): Promise<TaskSuccess> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= env.maxAttempts; attempt++) {
    if (failure.failed) throw new TaskError(`stage ${task.stageId} shard ${task.shard}: not run, another shard failed`, "see the first error", { retryable: false });
    if (env.signal?.aborted) throw env.signal.reason ?? new TaskError("the execution was stopped", "rerun it", { retryable: false });
    const result = await env.runner.run({ ...task, attempt });
    if (result.ok) return result;
    lastError = result.thrown ?? deserializeError(result.error);
    if (failure.failed || !isRetryable(lastError)) break;
    if (attempt < env.maxAttempts) {
      counters.retries++;
      const message = lastError instanceof Error ? lastError.message : String(lastError);
      env.log(`${env.label}: stage ${task.stageId} shard ${task.shard}: attempt ${attempt} of ${env.maxAttempts} failed, retrying: ${message}`);
    }
  }
  failure.failed = true;
  throw lastError;
}
