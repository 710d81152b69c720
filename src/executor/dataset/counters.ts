/**
 * Counters of a Dataset execution: per stage, records in/out, bytes in/out, shards, retries,
 * shuffle facts (frames, budget flushes, spilled runs) and user counters (`ctx.counters.increment`), folded from the successful attempt of each task; plus
 * the user counters summed over stages. `flattenCounters` gives the flat name → number form a
 * step stores in its info.json.
 */
import type { ShuffleCounters, TaskCounters } from "../../ops/task.ts";

/** A stage's task counters summed over its tasks (shuffle facts only on stages that scatter or merge). */
export interface StageCounters extends TaskCounters {
  stage: number;
  shards: number;
  /** Shards skipped because their output already existed (write with skipExisting). */
  skipped: number;
  /** Attempts that failed and were retried. */
  retries: number;
}

export interface DatasetCounters {
  stages: StageCounters[];
  user: Record<string, number>;
}

export function newStageCounters(stage: number, shards: number): StageCounters {
  return { stage, shards, skipped: 0, retries: 0, recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, user: {} };
}

export function addTaskCounters(into: StageCounters, task: TaskCounters): void {
  into.recordsIn += task.recordsIn;
  into.recordsOut += task.recordsOut;
  into.bytesIn += task.bytesIn;
  into.bytesOut += task.bytesOut;
  for (const [name, n] of Object.entries(task.user)) into.user[name] = (into.user[name] ?? 0) + n;
  if (task.shuffle) {
    const sum = (into.shuffle ??= { framesWritten: 0, budgetFlushes: 0, framesRead: 0, spilledRuns: 0, spilledBytes: 0, mergePasses: 0 });
    for (const key of Object.keys(sum) as Array<keyof ShuffleCounters>) sum[key] += task.shuffle[key];
  }
}

export function totalUserCounters(stages: StageCounters[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const s of stages) for (const [name, n] of Object.entries(s.user)) total[name] = (total[name] ?? 0) + n;
  return total;
}

/** `{ "stage0.recordsIn": 10, ..., "user.kept": 7 }`, sorted by name. */
export function flattenCounters(c: DatasetCounters): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const s of c.stages) {
    for (const key of ["shards", "skipped", "retries", "recordsIn", "recordsOut", "bytesIn", "bytesOut"] as const) flat[`stage${s.stage}.${key}`] = s[key];
    for (const [key, n] of Object.entries(s.shuffle ?? {})) flat[`stage${s.stage}.shuffle.${key}`] = n;
  }
  for (const [name, n] of Object.entries(c.user)) flat[`user.${name}`] = n;
  return Object.fromEntries(Object.entries(flat).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
