/**
 * Running a Dataset from inside a step: `runDataset(ctx, ds)` executes it on the run's shared task
 * runner (the worker pool of this process by default; `kiln run --redis` will swap in remote
 * workers), with its intermediate files in the step's local scratch folder, progress in the step's
 * log, the step's abort signal, and the per-stage counters (records and bytes in/out, shards,
 * retries, rejected records, user counters) folded into the step's counters, so they end up in its
 * info.json. `threads: 0` runs the tasks on the step's own thread (the inline executor).
 */
import type { Dataset, Terminal } from "./dataset.ts";
import { availableParallelism } from "node:os";
import { defaultMemoryBudget, executeDataset, type ExecuteOptions, type ExecutionResult } from "./exec/execute.ts";
import { flattenCounters } from "./exec/counters.ts";
import type { TaskRunner } from "./exec/inline.ts";
import { sharedPoolRunner } from "./exec/pool.ts";

/** The parts of a step's context a Dataset execution uses. */
export interface DatasetStepContext {
  readonly name: string;
  readonly counters: { increment(name: string, by?: number): void };
  readonly signal?: AbortSignal;
  /** Local scratch folder of the step's attempt (intermediate files go below it). */
  readonly workDir?: string;
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
  const runner = rest.runner ?? (inline ? undefined : (defaultRunner?.(threads) ?? sharedPoolRunner(threads, budget)));
  const result = await executeDataset(ds, {
    log: (l) => ctx.log(l),
    tmpDir: ctx.workDir,
    signal: ctx.signal,
    label: label ? `${ctx.name} ${label}` : ctx.name,
    ...rest,
    ...(inline ? { executor: "inline" as const } : { runner }),
  });
  const prefix = label ? `${label}.` : "";
  for (const [name, n] of Object.entries(flattenCounters(result.counters))) ctx.counters.increment(prefix + name, n);
  return result;
}
