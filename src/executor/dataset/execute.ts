/**
 * `executeDataset`: plans a Dataset, runs its stages as shard tasks on the inline executor or the
 * worker pool, and assembles the result (rows, a count, a reduced value, or committed files) with
 * counters per stage. Each task is tried up to 3 times; a shard that fails 3 times fails the whole
 * execution with its last error. Exchange, shuffle and spill files between stages live in a
 * temporary folder that is removed at the end, on success and on failure. Shuffle tasks get a
 * memory budget (`memoryBudgetBytes`); reduce tasks read only the winning attempt of each map
 * task. The pool refuses a plan holding a closure, naming the operator.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pLimit from "p-limit";
import type { Dataset, Terminal } from "../../ops/dataset.ts";
import { DatasetPlanError, JoinInputError, PlanNotPortableError, TaskError } from "../../ops/errors.ts";
import type { AnyFunction, JsonValue, UserContext } from "../../ops/fn.ts";
import { loadFormats } from "../../ops/formats-api.ts";
import { functionSlots } from "../../ops/logical.ts";
import type { LogicalPlan } from "../../ops/logical.ts";
import { planPhysical } from "../../ops/planner.ts";
import type { PhysicalPlan, Stage } from "../../ops/planner.ts";
import { DEFAULT_MEMORY_BUDGET } from "../../shuffle/index.ts";
import { deserializeError } from "../../ops/task.ts";
import type { TaskDescriptor, TaskInput, TaskOutput, TaskSuccess } from "../../ops/task.ts";
import { addTaskCounters, newStageCounters, totalUserCounters } from "./counters.ts";
import type { DatasetCounters, StageCounters } from "./counters.ts";
import { packr } from "./exchange.ts";
import { createInlineRunner } from "./inline.ts";
import type { TaskRunner } from "./inline.ts";
import { createPoolRunner } from "./pool.ts";
import { createProgress } from "./progress.ts";
import type { ProgressOptions } from "./progress.ts";
import { createResolver } from "./resolve.ts";

export const MAX_ATTEMPTS = 3;

/** A quarter of the machine's memory shared by the tasks running at once, between 32 MiB and 256 MiB. */
export function defaultMemoryBudget(concurrency: number): number {
  const share = Math.floor(os.totalmem() / 4 / Math.max(1, concurrency));
  return Math.max(32 * MiB, Math.min(DEFAULT_MEMORY_BUDGET, share));
}
const MiB = 1024 * 1024;

export interface ExecuteOptions {
  /** "pool" (worker threads, the default) or "inline" (this thread; runs closures). */
  executor?: "inline" | "pool";
  /** Pool size; default every core. */
  threads?: number;
  /** Where exchange files between stages go (a local folder); default the OS temp folder. */
  tmpDir?: string;
  /** true/"auto": bars on a TTY, log lines otherwise; false: silent. */
  progress?: boolean | ProgressOptions["mode"];
  log?: (line: string) => void;
  /**
   * Memory budget of one shuffle task in bytes (map-side buffers before a flush, reduce-side merge
   * before spilling to disk). Default: {@link defaultMemoryBudget} of the executor's concurrency.
   */
  memoryBudgetBytes?: number;
  /**
   * Another executor (e.g. remote workers): receives each task descriptor as plain JSON. Plans
   * run this way must be portable (no closures), as with the pool.
   */
  runner?: TaskRunner;
}

export type ExecutionResult<R> = R & { counters: DatasetCounters };

export function executeDataset<T>(ds: Dataset<T>, opts?: ExecuteOptions): Promise<ExecutionResult<{ rows: T[] }>>;
export function executeDataset<R>(ds: Terminal<R>, opts?: ExecuteOptions): Promise<ExecutionResult<R>>;
export async function executeDataset(
  ds: Dataset<unknown> | Terminal<unknown>,
  opts: ExecuteOptions = {},
): Promise<ExecutionResult<Record<string, unknown>>> {
  const logical = ds.logicalPlan();
  const physical = planPhysical(logical);
  const executor = opts.runner ? "custom" : (opts.executor ?? "pool");
  if (executor !== "inline") assertPortable(logical);
  const asked = opts.memoryBudgetBytes;
  if (asked !== undefined && !(Number.isSafeInteger(asked) && asked >= 64 * 1024)) {
    throw new DatasetPlanError(`memoryBudgetBytes ${asked} is not an integer of at least 64 KiB`, "pass e.g. { memoryBudgetBytes: 256 * 1024 * 1024 } or leave it out");
  }
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const progressMode = opts.progress === undefined || opts.progress === true ? "auto" : opts.progress === false ? "off" : opts.progress;
  const progress = createProgress({ mode: progressMode, log });
  const executionId = randomBytes(4).toString("hex");
  const ownTmp = opts.tmpDir === undefined;
  const tmpDir = ownTmp ? await mkdtemp(path.join(os.tmpdir(), "kiln-dataset-")) : path.join(opts.tmpDir!, `exec-${executionId}`);
  await mkdir(tmpDir, { recursive: true });
  const runner: TaskRunner =
    opts.runner ?? (executor === "pool" ? createPoolRunner({ threads: opts.threads }) : createInlineRunner(ds.closures));

  const budget = opts.memoryBudgetBytes ?? defaultMemoryBudget(runner.concurrency);
  const env: PlanEnv = { physical, results: new Map(), tmpDir, executionId, budget };

  const stageCounters: StageCounters[] = [];
  // Once a shard has failed for good, queued tasks do not start and running ones do not retry.
  const abort = { failed: false };
  try {
    let previous: TaskSuccess[] = [];
    for (const stage of physical.stages) {
      const tasks = await taskSpecs(stage, env);
      const counters = newStageCounters(stage.id, tasks.length);
      stageCounters.push(counters);
      progress.stageStarted(stage.id, tasks.length);
      const limit = pLimit(runner.concurrency);
      previous = await Promise.all(
        tasks.map((task) =>
          limit(async () => {
            const result = await runWithRetries(runner, task, counters, log, abort);
            addTaskCounters(counters, result.counters);
            if (result.skipped) counters.skipped++;
            progress.taskFinished(stage.id, result.counters);
            return result;
          }),
        ),
      );
      env.results.set(stage.id, previous);
      if (stage.output.kind === "scatter") await removeLosingAttempts(shuffleDir(tmpDir, stage.id), previous);
      progress.stageFinished(stage.id);
    }
    const counters: DatasetCounters = { stages: stageCounters, user: totalUserCounters(stageCounters) };
    const last = physical.stages[physical.stages.length - 1];
    switch (physical.result) {
      case "rows":
        return { counters, rows: previous.flatMap((r) => packr.unpack(r.rows!) as unknown[]) };
      case "count":
        return { counters, value: previous.reduce((sum, r) => sum + (r.value as number), 0) };
      case "outputs":
        return { counters, outputs: previous.map((r) => r.output!) };
      case "reduce":
        return { counters, value: await globalFold(last, previous, ds.closures, executor) };
      default:
        throw new DatasetPlanError(`unknown plan result kind ${JSON.stringify(physical.result)}`, "plan the dataset with this version of kiln");
    }
  } finally {
    progress.close();
    if (!opts.runner) await runner.close().catch(() => {});
    await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Throws when the plan holds a closure, naming the operator. */
export function assertPortable(logical: LogicalPlan): void {
  for (const op of logical.ops) {
    for (const slot of functionSlots(op)) {
      if (slot.fn.kind === "closure") {
        throw new PlanNotPortableError(
          `${slot.label} is a closure; the pool executor runs only functions given as fn(import.meta.url, name)`,
          "export the function from a module and pass fn(import.meta.url, myFunction), or run with executor: 'inline'",
        );
      }
    }
  }
}

async function runWithRetries(
  runner: TaskRunner,
  task: TaskDescriptor,
  counters: StageCounters,
  log: (l: string) => void,
  abort: { failed: boolean },
): Promise<TaskSuccess> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (abort.failed) throw new TaskError(`stage ${task.stageId} shard ${task.shard}: not run, another shard failed`, "see the first error");
    const desc = { ...task, attempt };
    let result;
    try {
      result = await runner.run(desc);
    } catch (err) {
      result = { ok: false as const, error: { name: "Error", message: String(err) }, thrown: err };
    }
    if (result.ok) return result;
    lastError = "thrown" in result && result.thrown !== undefined ? result.thrown : deserializeError(result.error);
    if (abort.failed) break;
    if (attempt < MAX_ATTEMPTS) {
      counters.retries++;
      log(`stage ${task.stageId} shard ${task.shard}: attempt ${attempt} of ${MAX_ATTEMPTS} failed, retrying: ${(lastError as Error).message}`);
    }
  }
  abort.failed = true;
  throw lastError;
}

/** What building a stage's tasks needs: the plan, earlier stages' results, and execution settings. */
interface PlanEnv {
  physical: PhysicalPlan;
  results: Map<number, TaskSuccess[]>;
  tmpDir: string;
  executionId: string;
  budget: number;
}

function shuffleDir(tmpDir: string, stageId: number): string {
  return path.join(tmpDir, `shuffle-stage-${stageId}`);
}

/** Partitions a scatter stage wrote: fixed, or one per map task. */
function scatterPartitions(env: PlanEnv, stageId: number): number {
  const out = env.physical.stages[stageId].output;
  if (out.kind !== "scatter") throw new Error(`internal: stage ${stageId} is not a scatter stage`);
  return out.partitions === "map-tasks" ? env.results.get(stageId)!.length : out.partitions;
}

/**
 * Removes the folders of map attempts that lost (failed after writing, or committed and then
 * failed to report): reduce tasks read only the winners' sidecars, so this is cleanup, not safety.
 */
async function removeLosingAttempts(dir: string, winners: TaskSuccess[]): Promise<void> {
  const keep = new Set(winners.map((r) => path.basename(path.dirname(r.sidecar!))));
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries) if (!keep.has(name)) await rm(path.join(dir, name), { recursive: true, force: true });
}

/** One descriptor per shard of `stage` (attempt filled in when run). */
async function taskSpecs(stage: Stage, env: PlanEnv): Promise<TaskDescriptor[]> {
  const inputs: TaskInput[] = [];
  const input = stage.input;
  if (input.kind === "read") {
    const formats = await loadFormats();
    const splits = await formats.expandInputs(input.patterns, input.splitBytes ? { splitBytes: input.splitBytes } : undefined);
    for (const split of splits) {
      const one: TaskInput = { kind: "split", split };
      if (input.columns) one.columns = input.columns;
      if (input.where) one.where = input.where;
      inputs.push(one);
    }
  } else if (input.kind === "items") {
    const per = Math.ceil(input.items.length / input.shards);
    for (let s = 0; s < input.shards; s++) inputs.push({ kind: "items", items: input.items.slice(s * per, (s + 1) * per), firstIndex: s * per });
  } else if (input.kind === "exchange") {
    const previous = env.results.get(input.fromStage)!;
    for (let p = 0; p < input.partitions; p++) inputs.push({ kind: "exchange", files: previous.map((r) => r.exchangeFiles![p]) });
  } else if (input.kind === "shuffle") {
    const sidecars = env.results.get(input.fromStage)!.map((r) => r.sidecar!);
    const operator = `${input.reduce.kind} #${input.opId}`;
    const spillDir = path.join(env.tmpDir, "spill");
    for (let p = 0; p < scatterPartitions(env, input.fromStage); p++) {
      inputs.push({ kind: "shuffle", sidecars, partition: p, operator, reduce: input.reduce, memoryBudgetBytes: env.budget, spillDir });
    }
  } else {
    const left = env.results.get(input.left)!;
    const right = env.results.get(input.right)!;
    if (left.length !== right.length) {
      throw new JoinInputError(
        `sortedMergeJoin #${input.opId}: the inputs are not co-partitioned: the left input has ${left.length} shard(s), the right input has ${right.length}`,
        "give both sides the same number of shards with the same key, e.g. groupBy/deduplicate on the join key with the same numShards",
      );
    }
    left.forEach((l, i) => {
      const { leftKey, rightKey, how, opId } = input;
      inputs.push({ kind: "join", opId, left: l.exchangeFiles![0], right: right[i].exchangeFiles![0], leftKey, rightKey, how });
    });
  }
  const shardCount = inputs.length;
  const outputs = await taskOutputs(stage, shardCount, env);
  return inputs.map((taskInput, shard) => ({
    version: 1,
    executionId: env.executionId,
    stageId: stage.id,
    ops: stage.ops,
    shard,
    shardCount,
    attempt: 1,
    input: taskInput,
    output: outputs[shard],
  }));
}

async function taskOutputs(stage: Stage, shardCount: number, env: PlanEnv): Promise<TaskOutput[]> {
  const out = stage.output;
  switch (out.kind) {
    case "exchange":
      return new Array(shardCount).fill({ kind: "exchange", dir: env.tmpDir, partitioning: out.partitioning, partitions: out.partitions });
    case "materialize":
      return new Array(shardCount).fill({ kind: "materialize", dir: env.tmpDir });
    case "scatter": {
      const scatter: TaskOutput = {
        kind: "scatter",
        dir: shuffleDir(env.tmpDir, stage.id),
        operator: `${out.operator} #${out.opId}`,
        partitions: out.partitions === "map-tasks" ? shardCount : out.partitions,
        key: out.key,
        memoryBudgetBytes: env.budget,
      };
      if (out.sortBy) scatter.sortBy = out.sortBy;
      if (out.combiner) scatter.combiner = out.combiner;
      if (out.keepFirst) scatter.keepFirst = true;
      return new Array(shardCount).fill(scatter);
    }
    case "collect":
      return new Array(shardCount).fill({ kind: "collect" });
    case "count":
      return new Array(shardCount).fill({ kind: "count" });
    case "fold":
      return new Array(shardCount).fill({ kind: "fold", opId: out.opId, initial: out.initial, fold: out.fold });
    case "write": {
      const formats = await loadFormats();
      const paths = Array.from({ length: shardCount }, (_, s) => formats.expandOutputPattern(out.pattern, s, shardCount));
      if (new Set(paths).size !== paths.length) {
        throw new DatasetPlanError(
          `write #${out.opId}: pattern ${JSON.stringify(out.pattern)} gives the same file to several of its ${shardCount} shards`,
          "put {shard} in the pattern, e.g. 'out/part-{shard}-of-{total}.parquet'",
        );
      }
      return paths.map((p) => ({ kind: "write", path: p, format: out.format, skipExisting: out.skipExisting }));
    }
  }
}

/** Folds the per-shard values with `combine`, in shard order, on this thread. */
async function globalFold(stage: Stage, results: TaskSuccess[], closures: ReadonlyMap<string, AnyFunction>, executor: string): Promise<unknown> {
  const out = stage.output;
  if (out.kind !== "fold") throw new Error("internal: reduce result without a fold stage");
  const label = `reduce #${out.opId} combine`;
  const combine = await createResolver(executor === "inline" ? closures : undefined)(out.combine, label);
  const ctx: UserContext = { shard: 0, shardCount: 1, attempt: 1, counters: { increment() {} } };
  if (results.length === 0) return structuredClone(out.initial as JsonValue);
  let acc: unknown = results[0].value;
  for (let i = 1; i < results.length; i++) acc = combine(acc, results[i].value, ctx);
  return acc;
}
