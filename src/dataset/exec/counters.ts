/**
 * Counters of a Dataset execution: per stage, records in/out, bytes in/out, shards, retries,
 * records rejected by reason and records with invalid UTF-8 (reads), shuffle facts (frames, budget
 * flushes, spilled runs) and user counters (`ctx.counters.increment`), folded from the successful
 * attempt of each task (summed over rounds for the stages of a loop); the user counters summed over
 * stages; and the rounds each iterate ran. `flattenCounters` gives the flat name → number form a step
 * stores in its info.json.
 */
import type { ShuffleCounters, TaskCounters } from "./task.ts";

/** A stage's task counters summed over its tasks (shuffle facts only on stages that scatter or merge). */
export interface StageCounters extends TaskCounters {
  stage: number;
  shards: number;
  /** Shards skipped because their output already existed (write with skipExisting). */
  skipped: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** Wall time of the stage, from its first task's start to the end of its finish (summed over rounds). */
  wallMs?: number;
}

export interface DatasetCounters {
  stages: StageCounters[];
  user: Record<string, number>;
  /** Rounds run by each iterate, the last one adding nothing to its counter. */
  loops: Array<{ opId: number; rounds: number }>;
}

export function newStageCounters(stage: number, shards: number): StageCounters {
  return { stage, shards, skipped: 0, retries: 0, recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, user: {} };
}

function addInto(into: Record<string, number>, from: Record<string, number>): void {
  for (const [name, n] of Object.entries(from)) into[name] = (into[name] ?? 0) + n;
}

export function addTaskCounters(into: StageCounters, task: TaskCounters): void {
  into.recordsIn += task.recordsIn;
  into.recordsOut += task.recordsOut;
  into.bytesIn += task.bytesIn;
  into.bytesOut += task.bytesOut;
  addInto(into.user, task.user);
  if (task.rejected) addInto((into.rejected ??= {}), task.rejected);
  if (task.invalidUtf8) into.invalidUtf8 = (into.invalidUtf8 ?? 0) + task.invalidUtf8;
  if (task.shuffle) {
    const sum = (into.shuffle ??= { framesWritten: 0, budgetFlushes: 0, framesRead: 0, spilledRuns: 0, spilledBytes: 0, mergePasses: 0 });
    for (const key of Object.keys(sum) as Array<keyof ShuffleCounters>) sum[key] += task.shuffle[key];
  }
}

export function totalUserCounters(stages: StageCounters[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const s of stages) addInto(total, s.user);
  return total;
}

/** `{ "stage0.recordsIn": 10, ..., "user.kept": 7 }`, sorted by name. */
export function flattenCounters(c: DatasetCounters): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const s of c.stages) {
    for (const key of ["shards", "skipped", "retries", "recordsIn", "recordsOut", "bytesIn", "bytesOut"] as const) flat[`stage${s.stage}.${key}`] = s[key];
    if (s.invalidUtf8) flat[`stage${s.stage}.invalidUtf8`] = s.invalidUtf8;
    for (const [reason, n] of Object.entries(s.rejected ?? {})) flat[`stage${s.stage}.rejected.${reason}`] = n;
    for (const [key, n] of Object.entries(s.shuffle ?? {})) flat[`stage${s.stage}.shuffle.${key}`] = n;
  }
  for (const l of c.loops) flat[`iterate${l.opId}.rounds`] = l.rounds;
  for (const [name, n] of Object.entries(c.user)) flat[`user.${name}`] = n;
  return Object.fromEntries(Object.entries(flat).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
