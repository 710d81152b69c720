/**
 * `executeDataset`: plans a Dataset, runs its stages as shard tasks on a task runner (the inline
 * executor, the worker pool, or any other runner such as remote workers), drives iterate loops
 * round by round, and assembles the result (rows, a count, a reduced value, or committed files) with
 * counters per stage. Each task is tried up to 3 times; an error that cannot pass on a retry (see
 * `retryable` in src/errors.ts) fails at once; a shard that fails for good fails the execution with
 * its error. Intermediate files live in one folder per execution (`tmpDir`, default a
 * `kiln-dataset-<pid>-*` folder in the OS temp folder; folders of dead processes are swept), removed
 * at the end, on success and on failure; `tmpDir` may be on an object store (`gs://`), where remote
 * workers share it. The task memory budget is one option, divided by the engine
 * among a task's shuffle reader and writer (see context.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Dataset, Terminal } from "../dataset.ts";
import { DatasetPlanError } from "../errors.ts";
import { functionSlots } from "../logical.ts";
import type { LogicalPlan } from "../logical.ts";
import { planPhysical } from "../plan/planner.ts";
import type { PhysicalPlan, Stage } from "../plan/physical.ts";
import { collectOperator, countOperator, foldOperator } from "../physical/gather.ts";
import { loopOperator } from "../physical/loop.ts";
import { writeOperator } from "../physical/write.ts";
import { DEFAULT_MEMORY_BUDGET } from "../../shuffle/index.ts";
import { joinPath, schemeOf } from "../../io/index.ts";
import { removeFolder } from "./folders.ts";
import { PlanNotPortableError } from "../errors.ts";
import { divideBudget } from "./context.ts";
import type { PlanContext } from "./context.ts";
import { newStageCounters, totalUserCounters } from "./counters.ts";
import type { DatasetCounters, StageCounters } from "./counters.ts";
import { createInlineRunner } from "./inline.ts";
import type { TaskRunner } from "./inline.ts";
import { createPoolRunner } from "./pool.ts";
import { createProgress } from "./progress.ts";
import type { ProgressOptions } from "./progress.ts";
import { createResolver } from "./resolve.ts";
import { runStage } from "./stage.ts";
import { sweepDeadTmpDirs, TMP_PREFIX } from "./tmp.ts";
import type { TaskSuccess } from "./task.ts";

export const MAX_ATTEMPTS = 3;
const MiB = 1024 * 1024;

/** A quarter of the machine's memory shared by the tasks running at once, between 32 MiB and 256 MiB. */
export function defaultMemoryBudget(concurrency: number): number {
  const share = Math.floor(os.totalmem() / 4 / Math.max(1, concurrency));
  return Math.max(32 * MiB, Math.min(DEFAULT_MEMORY_BUDGET, share));
}

export interface ExecuteOptions {
  /** "pool" (worker threads, the default) or "inline" (this thread; runs closures). */
  executor?: "inline" | "pool";
  /** Pool size; default every core. */
  threads?: number;
  /** Local folder for the execution's intermediate files (a sub-folder is made and removed); default the OS temp folder. */
  tmpDir?: string;
  /** true/"auto": bars on a TTY, log lines otherwise; false: silent. */
  progress?: boolean | ProgressOptions["mode"];
  log?: (line: string) => void;
  /**
   * Memory budget of one task in bytes: the shuffle gets half of it (map-side buffers before a
   * flush, reduce-side merges before spilling; split between reader and writer when a task has
   * both), the rest is left for rows, files and user code. Default: {@link defaultMemoryBudget}.
   */
  memoryBudgetBytes?: number;
  /** Another executor (a shared pool, remote workers): receives each task descriptor as plain JSON. */
  runner?: TaskRunner;
  /** Names the execution in logs and task descriptors (e.g. the step's name). */
  label?: string;
  /** Stops scheduling tasks when aborted; the execution then fails with the abort reason. */
  signal?: AbortSignal;
}

export type ExecutionResult<R> = R & { counters: DatasetCounters };

export function executeDataset<T>(ds: Dataset<T>, opts?: ExecuteOptions): Promise<ExecutionResult<{ rows: T[] }>>;
export function executeDataset<R>(ds: Terminal<R>, opts?: ExecuteOptions): Promise<ExecutionResult<R>>;
export async function executeDataset(ds: Dataset<unknown> | Terminal<unknown>, opts: ExecuteOptions = {}): Promise<ExecutionResult<Record<string, unknown>>> {
  const logical = ds.logicalPlan();
  const physical = planPhysical(logical);
  const inline = !opts.runner && opts.executor === "inline";
  if (!inline) assertPortable(logical);
  const asked = opts.memoryBudgetBytes;
  if (asked !== undefined && !(Number.isSafeInteger(asked) && asked >= 64 * 1024)) {
    throw new DatasetPlanError(`memoryBudgetBytes ${asked} is not an integer of at least 64 KiB`, "pass e.g. { memoryBudgetBytes: 256 * 1024 * 1024 } or leave it out");
  }
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const progressMode = opts.progress === undefined || opts.progress === true ? "auto" : opts.progress === false ? "off" : opts.progress;
  const executionId = randomBytes(4).toString("hex");
  const label = opts.label ?? "dataset";
  const parent = opts.tmpDir ?? os.tmpdir();
  if (opts.tmpDir === undefined) await sweepDeadTmpDirs(parent);
  // A folder on an object store (the shared scratch of remote workers) is a key prefix: nothing to create.
  const localTmp = schemeOf(parent) === "file";
  const tmpDir = localTmp ? path.join(parent, `${TMP_PREFIX}${process.pid}-${executionId}`) : joinPath(parent, `${TMP_PREFIX}${process.pid}-${executionId}`);
  if (localTmp) await mkdir(tmpDir, { recursive: true });
  const threads = Math.max(1, opts.threads ?? os.availableParallelism());
  const budget = opts.memoryBudgetBytes ?? defaultMemoryBudget(opts.runner?.concurrency ?? (inline ? 1 : threads));
  const runner: TaskRunner = opts.runner ?? (inline ? createInlineRunner(ds.closures) : createPoolRunner({ threads, budgetBytes: budget }));
  const progress = createProgress({ mode: progressMode, log, label: opts.label });
  const results = new Map<number, TaskSuccess[]>();
  let round = 0;
  const ctx: PlanContext = {
    plan: physical,
    results,
    executionId,
    tmpDir,
    // Spills are a reader's own: on the shared folder of remote workers they would cross machines.
    spillDir: runner.remote || !localTmp ? undefined : path.join(tmpDir, "spill"),
    get round() {
      return round;
    },
    stageDir: (stageId) => joinPath(tmpDir, `stage-${stageId}-r${round}`),
    budgets: (stage) => divideBudget(stage, budget),
    resultsOf(stageId) {
      const r = results.get(stageId);
      if (!r) throw new Error(`internal: stage ${stageId} has not run`);
      return r;
    },
  };
  const stageCounters = physical.stages.map((s) => newStageCounters(s.id, 0));
  const loopRounds: Array<{ opId: number; rounds: number }> = [];
  const single = !inline && runner.inProcess ? createInlineRunner(ds.closures) : undefined;
  const env = { runner, single, log, progress, ctx, label, signal: opts.signal, maxAttempts: MAX_ATTEMPTS };
  try {
    for (let i = 0; i < physical.stages.length; ) {
      const loop = physical.loops.find((l) => l.first === i);
      if (!loop) {
        results.set(i, await runStage(physical.stages[i], stageCounters[i], env));
        i++;
        continue;
      }
      for (round = 0; ; round++) {
        const before = countedSoFar(stageCounters, loop.first, loop.last, loop.until);
        for (let s = loop.first; s <= loop.last; s++) results.set(s, await runStage(physical.stages[s], stageCounters[s], env));
        const counted = countedSoFar(stageCounters, loop.first, loop.last, loop.until) - before;
        log(`${label}: iterate #${loop.opId} round ${round}: counter '${loop.until}' ${counted}`);
        await removeRound(ctx, loop.from, loop.first, loop.last, round);
        if (!loopOperator.another(loop, round, counted)) break;
      }
      loopRounds.push({ opId: loop.opId, rounds: round + 1 });
      round = 0;
      i = loop.last + 1;
    }
    const counters: DatasetCounters = { stages: stageCounters, user: totalUserCounters(stageCounters), loops: loopRounds };
    return { counters, ...(await assemble(physical, results, ds, inline)) };
  } finally {
    progress.close();
    if (!opts.runner) await runner.close().catch(() => {});
    await removeFolder(tmpDir).catch(() => {});
  }
}

/** How the last stage's task results become the execution's result. */
async function assemble(physical: PhysicalPlan, results: Map<number, TaskSuccess[]>, ds: Dataset<unknown> | Terminal<unknown>, inline: boolean): Promise<Record<string, unknown>> {
  const last: Stage = physical.stages[physical.stages.length - 1];
  const lastResults = results.get(last.id) ?? [];
  const out = last.output;
  switch (physical.result) {
    case "rows":
      return { rows: collectOperator.result(lastResults) };
    case "count":
      return { value: countOperator.result(lastResults) };
    case "outputs":
      if (out.kind !== "write") break;
      return writeOperator.result(out, lastResults);
    case "reduce":
      if (out.kind !== "fold") break;
      return { value: await foldOperator.result(out, lastResults, createResolver(inline ? ds.closures : undefined)) };
  }
  throw new DatasetPlanError(`the plan's result ${physical.result} does not match its last stage's output ${out.kind}`, "plan the dataset with this version of kiln");
}

/** The user counter `name` summed over stages first..last so far. */
function countedSoFar(stages: StageCounters[], first: number, last: number, name: string): number {
  let n = 0;
  for (let s = first; s <= last; s++) n += stages[s].user[name] ?? 0;
  return n;
}

/** After round `round` of a loop: the files of the round before (and of the stage that fed round 0) are no longer read. */
async function removeRound(ctx: PlanContext, from: number, first: number, last: number, round: number): Promise<void> {
  const dir = (stage: number, r: number) => joinPath(ctx.tmpDir, `stage-${stage}-r${r}`);
  if (round === 0) await removeFolder(dir(from, 0));
  if (round > 0) for (let s = first; s <= last; s++) await removeFolder(dir(s, round - 1));
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
