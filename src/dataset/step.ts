/**
 * Running a Dataset from inside a step: `runDataset(ctx, ds)` executes it on the run's shared task
 * runner (the worker pool of this process by default; `setStepRunner` swaps in another, such as the
 * remote workers of `kiln run --redis`), with its intermediate files in the step's scratch folder,
 * progress in the step's log, the step's abort signal, and the per-stage counters (records and bytes
 * in/out, shards, retries, rejected records, user counters) folded into the step's counters, so they
 * end up in its info.json. With a remote runner the intermediate files go where every worker reaches
 * them: the step's scratch folder when the prefix is a (shared) file system, `<staging folder>.work`
 * on the prefix otherwise; and the worker that ran each task is recorded (`recordTask`).
 * `threads: 0` runs the tasks on the step's own thread (the inline executor).
 */
import type { Dataset, Terminal } from "./dataset.ts";
import { availableParallelism } from "node:os";
import { defaultMemoryBudget, executeDataset, type ExecuteOptions, type ExecutionResult } from "./exec/execute.ts";
import { flattenCounters } from "./exec/counters.ts";
import type { TaskRunner } from "./exec/inline.ts";
import type { TaskPlacement, TaskRunRecord } from "../util/task-run.ts";
import { sharedPoolRunner } from "./exec/pool.ts";
import type { TaskDescriptor } from "./exec/task.ts";
import { schemeOf } from "../io/index.ts";

/** The parts of a step's context a Dataset execution uses. */
export interface DatasetStepContext {
  readonly name: string;
  readonly counters: { increment(name: string, by?: number): void };
  readonly signal?: AbortSignal;
  /** Local scratch folder of the step's attempt (intermediate files go below it). */
  readonly workDir?: string;
  /** The attempt's staging folder on the step's storage (remote runners keep intermediate files next to it). */
  readonly outputPath?: string;
  /** Keeps which worker ran a task (the step runner stores these in info.json). */
  recordTask?(run: TaskRunRecord): void;
  log(message: string): void;
}

export interface RunDatasetOptions extends ExecuteOptions {
  /** Prefix of this execution's counters in the step's info.json (e.g. "signatures"). */
  label?: string;
  /** Worker threads; 0 runs every task on the step's thread. Default: the shared pool of every core. */
  threads?: number;
}

let defaultRunner: ((threads: number | undefined) => TaskRunner) | undefined;

/** Replaces the runner steps execute their datasets on (e.g. remote workers); undefined restores the shared pool. */
export function setStepRunner(make: ((threads: number | undefined) => TaskRunner) | undefined): void {
  defaultRunner = make;
}

export function runDataset<T>(ctx: DatasetStepContext, ds: Dataset<T>, opts?: RunDatasetOptions): Promise<ExecutionResult<{ rows: T[] }>>;
export function runDataset<R>(ctx: DatasetStepContext, ds: Terminal<R>, opts?: RunDatasetOptions): Promise<ExecutionResult<R>>;
export async function runDataset(ctx: DatasetStepContext, ds: Dataset<unknown> | Terminal<unknown>, opts: RunDatasetOptions = {}): Promise<ExecutionResult<Record<string, unknown>>> {
  const { label, threads, ...rest } = opts;
  const inline = threads === 0 || rest.executor === "inline";
  // The shared pool's workers get a heap limit that follows the task budget (see exec/pool.ts).
  const budget = rest.memoryBudgetBytes ?? defaultMemoryBudget(threads ?? availableParallelism());
  const chosen = rest.runner ?? (inline ? undefined : (defaultRunner?.(threads) ?? sharedPoolRunner(threads, budget)));
  const runner = chosen?.remote && ctx.recordTask ? recording(chosen, ctx.recordTask.bind(ctx)) : chosen;
  const result = await executeDataset(ds, {
    log: (l) => ctx.log(l),
    tmpDir: chosen?.remote ? sharedScratch(ctx) : ctx.workDir,
    signal: ctx.signal,
    label: label ? `${ctx.name} ${label}` : ctx.name,
    ...rest,
    ...(inline ? { executor: "inline" as const } : { runner }),
  });
  const prefix = label ? `${label}.` : "";
  for (const [name, n] of Object.entries(flattenCounters(result.counters))) ctx.counters.increment(prefix + name, n);
  return result;
}

/** Where a remote runner's workers find the execution's files: the scratch folder on a file-system prefix, else next to the staging folder. */
function sharedScratch(ctx: DatasetStepContext): string | undefined {
  if (!ctx.outputPath || schemeOf(ctx.outputPath) === "file") return ctx.workDir;
  return `${ctx.outputPath.replace(/\/+$/, "")}.work`;
}

/** `runner`, telling `record` where each task ran. */
function recording(runner: TaskRunner, record: (run: TaskRunRecord) => void): TaskRunner {
  const note = (desc: TaskDescriptor, ok: boolean, placement: TaskPlacement | undefined) => {
    if (placement) record({ execution: desc.label, stage: desc.stageId, round: desc.round, shard: desc.shard, attempt: desc.attempt, ok, ...placement });
  };
  return {
    concurrency: runner.concurrency,
    remote: runner.remote,
    async run(desc) {
      const result = await runner.run(desc);
      note(desc, result.ok, result.placement);
      return result;
    },
    close: () => runner.close(),
  };
}
