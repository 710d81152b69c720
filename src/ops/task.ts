/**
 * The task descriptor: one shard of one stage, as plain JSON. The inline executor, the worker
 * pool and a remote (Redis) worker all run the same descriptor with the same runner. It carries
 * the stage's fused operators (the plan fragment), the shard, the attempt, where its input comes
 * from (an input split, inline rows, or exchange files written by the previous stage) and where
 * its output goes. A shuffle stage fits as another input kind (its byte ranges in mappers' files)
 * and another output kind (scatter into partitions). Results carry the task's counters; errors
 * cross threads and machines in serialized form and are rebuilt as the same typed error.
 */
import { KilnError } from "../errors.ts";
import { TaskError, UserFunctionError } from "./errors.ts";
import type { RecordPosition } from "./errors.ts";
import type { FnSpec, JsonValue } from "./fn.ts";
import type { InputSplit } from "./formats-api.ts";
import type { OutputFormat, Where } from "./logical.ts";
import type { ShuffleReduce, StageOp } from "./planner.ts";

export type TaskInput =
  | { kind: "split"; split: InputSplit; columns?: string[]; where?: Where[] }
  | { kind: "items"; items: JsonValue[]; firstIndex: number }
  | { kind: "exchange"; files: string[] }
  | {
      kind: "shuffle";
      /** The winning attempt's committed sidecar of every map task, in map-task order. */
      sidecars: string[];
      partition: number;
      operator: string;
      reduce: ShuffleReduce;
      memoryBudgetBytes: number;
      /** Local folder under which the reader spills sorted runs. */
      spillDir: string;
    }
  | { kind: "join"; opId: number; left: string; right: string; leftKey: FnSpec; rightKey: FnSpec; how: "inner" | "left" };

export type TaskOutput =
  | { kind: "exchange"; dir: string; partitioning: "round-robin" | "single"; partitions: number }
  | {
      kind: "scatter";
      /** Shuffle folder of the stage; each attempt writes into its own sub-folder. */
      dir: string;
      operator: string;
      partitions: number;
      key: FnSpec;
      sortBy?: FnSpec;
      combiner?: FnSpec;
      keepFirst?: boolean;
      memoryBudgetBytes: number;
    }
  | { kind: "materialize"; dir: string }
  | { kind: "collect" }
  | { kind: "count" }
  | { kind: "fold"; opId: number; initial: JsonValue; fold: FnSpec }
  | { kind: "write"; path: string; format: OutputFormat; skipExisting: boolean };

export interface TaskDescriptor {
  version: 1;
  executionId: string;
  stageId: number;
  /** The plan fragment this task runs: the stage's fused operators. */
  ops: StageOp[];
  shard: number;
  shardCount: number;
  /** 1-based. Outputs are written under names unique to (execution, attempt). */
  attempt: number;
  input: TaskInput;
  output: TaskOutput;
}

export interface TaskCounters {
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  user: Record<string, number>;
  /** Scatter (map side) and merge (reduce side) facts of shuffle stages. */
  shuffle?: ShuffleCounters;
}

export interface ShuffleCounters {
  framesWritten: number;
  /** Flushes forced by the memory budget on the map side. */
  budgetFlushes: number;
  framesRead: number;
  spilledRuns: number;
  spilledBytes: number;
  mergePasses: number;
}

export interface TaskSuccess {
  ok: true;
  counters: TaskCounters;
  /** write: the committed file (also when skipped because it existed). */
  output?: string;
  skipped?: boolean;
  /** exchange: committed partition files, index = target partition (materialize: one file). */
  exchangeFiles?: string[];
  /** scatter: the committed sidecar of this attempt. */
  sidecar?: string;
  /** count / fold: this shard's partial value. */
  value?: JsonValue;
  /** collect: the shard's rows, msgpack-encoded (moved between threads, not copied). */
  rows?: Uint8Array;
}

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  hint?: string;
  stack?: string;
  user?: { operator: string; shard: number; shardCount: number; attempt: number; position?: RecordPosition; causeMessage: string; causeName: string };
}

export type TaskResult = TaskSuccess | { ok: false; error: SerializedError };

export function emptyCounters(): TaskCounters {
  return { recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, user: {} };
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof UserFunctionError) {
    const cause = err.cause;
    return {
      name: err.name,
      code: err.code,
      message: err.message,
      hint: err.hint,
      stack: err.stack,
      user: {
        operator: err.operator,
        shard: err.shard,
        shardCount: err.shardCount,
        attempt: err.attempt,
        position: err.position,
        causeMessage: cause instanceof Error ? cause.message : String(cause),
        causeName: cause instanceof Error ? cause.name : "Error",
      },
    };
  }
  if (err instanceof KilnError) return { name: err.name, code: err.code, message: err.message, hint: err.hint, stack: err.stack };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: "Error", message: String(err) };
}

/** Rebuilds a typed error from its serialized form (a UserFunctionError stays one). */
export function deserializeError(e: SerializedError): Error {
  if (e.user) {
    const cause = new Error(e.user.causeMessage);
    cause.name = e.user.causeName;
    return new UserFunctionError({ ...e.user, position: e.user.position, cause });
  }
  if (e.code) {
    const err = new TaskError(e.message, e.hint ?? "");
    Object.defineProperty(err, "code", { value: e.code });
    Object.defineProperty(err, "name", { value: e.name });
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}
