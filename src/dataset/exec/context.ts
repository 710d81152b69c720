/**
 * The two environments physical operators work in. `PlanContext` is the coordinator's while it
 * turns a stage into task descriptors: the plan, the results of the stages already run, where
 * intermediate files go, the round of an iterate, and the task memory budget with how the engine
 * divides it. `TaskEnv` is a running task's: the user context, the cursor on the input record, the
 * function resolver, the descriptor and the task's counters.
 */
import type { PhysicalPlan, Stage } from "../plan/physical.ts";
import type { ChainEnv } from "../row/runtime.ts";
import type { TaskCounters, TaskDescriptor, TaskSuccess } from "./task.ts";

export interface PlanContext {
  readonly plan: PhysicalPlan;
  /** Task results of every stage run so far (for a loop's stages: the latest round's). */
  readonly results: ReadonlyMap<number, TaskSuccess[]>;
  readonly executionId: string;
  /** Folder of this execution's intermediate files (shared by every worker when the runner is remote). */
  readonly tmpDir: string;
  /** Where shuffle readers spill; undefined: the OS temp folder of the machine running the task. */
  readonly spillDir: string | undefined;
  /** The iterate round being planned (0 outside loops). */
  readonly round: number;
  /** Folder of one stage's intermediate files in the current round. */
  stageDir(stageId: number): string;
  /** Memory budget of one task of `stage`, divided among its buffered parts. */
  budgets(stage: Stage): TaskBudgets;
  /** A stage's task results, failing with a clear error if it has not run. */
  resultsOf(stageId: number): TaskSuccess[];
}

/**
 * How the engine divides a task's memory budget: the shuffle gets half of it (split between the
 * reader and the writer when a task merges one shuffle and scatters into the next); the other half
 * is left for decoded rows, file readers and writers, and user code.
 */
export interface TaskBudgets {
  task: number;
  shuffleRead: number;
  shuffleWrite: number;
}

export function divideBudget(stage: Stage, task: number): TaskBudgets {
  const shuffle = Math.floor(task / 2);
  const reads = stage.input.kind === "shuffle";
  const writes = stage.output.kind === "scatter";
  const share = reads && writes ? Math.floor(shuffle / 2) : shuffle;
  return { task, shuffleRead: reads ? share : 0, shuffleWrite: writes ? share : 0 };
}

export interface TaskEnv extends ChainEnv {
  readonly desc: TaskDescriptor;
  readonly counters: TaskCounters;
  /** Unique to (execution, attempt): part of every temporary name the task writes. */
  readonly attemptTag: string;
}
