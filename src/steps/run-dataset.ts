/**
 * Running a Dataset from inside a step: executes it (worker threads by default), sends progress
 * to the step's log, and folds the per-stage counters (records and bytes in/out, shards, retries)
 * and the user counters into the step's counters, so they end up in its info.json.
 */
import type { Counters } from "../graph/step.ts";
import type { Dataset, Terminal } from "../ops/index.ts";
import { executeDataset, flattenCounters, type ExecuteOptions, type ExecutionResult } from "../ops/index.ts";

export interface DatasetStepContext {
  counters: Counters;
  log(message: string): void;
}

export function runDataset<T>(ctx: DatasetStepContext, ds: Dataset<T>, opts?: ExecuteOptions & { label?: string }): Promise<ExecutionResult<{ rows: T[] }>>;
export function runDataset<R>(ctx: DatasetStepContext, ds: Terminal<R>, opts?: ExecuteOptions & { label?: string }): Promise<ExecutionResult<R>>;
export async function runDataset(
  ctx: DatasetStepContext,
  ds: Dataset<unknown> | Terminal<unknown>,
  opts: ExecuteOptions & { label?: string } = {},
): Promise<ExecutionResult<Record<string, unknown>>> {
  const { label, ...rest } = opts;
  const result = await executeDataset(ds as Terminal<Record<string, unknown>>, { log: (l) => ctx.log(l), ...rest });
  const prefix = label ? `${label}.` : "";
  for (const [name, n] of Object.entries(flattenCounters(result.counters))) ctx.counters.increment(prefix + name, n);
  return result;
}
