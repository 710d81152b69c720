/**
 * The task descriptor: one shard of one stage, as plain JSON. The inline executor, the worker
 * pool and a remote worker all run the same descriptor with the same runner. It carries the stage's
 * fused operators (the plan fragment), the shard, the attempt, where its input comes from, the
 * right side of each fused join, and where its output goes; the shapes of inputs and outputs are
 * the physical operators' (src/dataset/physical). Results carry the task's counters; errors cross
 * threads and machines in serialized form and are rebuilt as the same typed error, keeping whether
 * a retry may help.
 */
import { KilnError, isRetryable } from "../../errors.ts";
import { TaskError, UserFunctionError } from "../errors.ts";
import type { RecordPosition } from "../errors.ts";
import type { StageOp } from "../plan/physical.ts";
import type { ExchangeTask, ExchangeTaskOutput } from "../physical/exchange.ts";
import type { ItemsTask } from "../physical/items.ts";
import type { SplitTask } from "../physical/read.ts";
import type { ScatterTaskOutput, ShuffleTask } from "../physical/shuffle.ts";
import type { CollectOutput, CountOutput, FoldTaskOutput } from "../physical/gather.ts";
import type { WriteTaskOutput, WrittenFile } from "../physical/write.ts";

export type TaskInput = SplitTask | ItemsTask | ExchangeTask | ShuffleTask;
export type TaskOutput = ExchangeTaskOutput | ScatterTaskOutput | CollectOutput | CountOutput | FoldTaskOutput | WriteTaskOutput;

/** The right side of a fused join for one shard: its input and the operators applied to it. */
export interface SideInput {
  input: TaskInput;
  ops: StageOp[];
}

export interface TaskDescriptor {
  version: 1;
  executionId: string;
  /** Names the execution in logs and fault injection (e.g. the step's name). */
  label: string;
  stageId: number;
  /** The iterate round this task belongs to (0 outside loops). */
  round: number;
  /** The plan fragment this task runs: the stage's fused operators. */
  ops: StageOp[];
  /** Right sides of fused joins, by the join's operator id. */
  sides: Record<string, SideInput>;
  shard: number;
  shardCount: number;
  /** 1-based. Outputs are written under names unique to (execution, attempt). */
  attempt: number;
  input: TaskInput;
  output: TaskOutput;
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

export interface TaskCounters {
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  user: Record<string, number>;
  /** Input records skipped or quarantined, by reason (read with onBadRecord). */
  rejected?: Record<string, number>;
  /** Input records whose invalid UTF-8 was replaced by U+FFFD. */
  invalidUtf8?: number;
  /** Scatter (map side) and merge (reduce side) facts of shuffle stages. */
  shuffle?: ShuffleCounters;
}

export interface TaskSuccess {
  ok: true;
  counters: TaskCounters;
  /** write: the files this task committed (also when skipped because they existed). */
  files?: WrittenFile[];
  skipped?: boolean;
  /** exchange: committed partition files, index = target partition (aligned: one file). */
  exchangeFiles?: string[];
  /** scatter: the committed sidecar of this attempt. */
  sidecar?: string;
  /** count / fold: this shard's partial value (plain data; it crosses threads as msgpack). */
  value?: unknown;
  /** collect: the shard's rows, msgpack-encoded (moved between threads, not copied). */
  rows?: Uint8Array;
}

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  hint?: string;
  stack?: string;
  retryable: boolean;
  user?: { operator: string; shard: number; shardCount: number; attempt: number; position?: RecordPosition; causeMessage: string; causeName: string };
}

export type TaskResult = TaskSuccess | { ok: false; error: SerializedError };

export function emptyCounters(): TaskCounters {
  return { recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, user: {} };
}

export function serializeError(err: unknown): SerializedError {
  const retryable = isRetryable(err);
  if (err instanceof UserFunctionError) {
    const cause = err.cause;
    return {
      name: err.name,
      code: err.code,
      message: err.message,
      hint: err.hint,
      stack: err.stack,
      retryable,
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
  if (err instanceof KilnError) return { name: err.name, code: err.code, message: err.message, hint: err.hint, stack: err.stack, retryable };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack, retryable };
  return { name: "Error", message: String(err), retryable };
}

/** Rebuilds a typed error from its serialized form (a UserFunctionError stays one). */
export function deserializeError(e: SerializedError): Error {
  if (e.user) {
    const cause = new Error(e.user.causeMessage);
    cause.name = e.user.causeName;
    return new UserFunctionError({ ...e.user, position: e.user.position, cause });
  }
  if (e.code) {
    const err = new TaskError(e.message, e.hint ?? "", { retryable: e.retryable });
    Object.defineProperty(err, "code", { value: e.code });
    Object.defineProperty(err, "name", { value: e.name });
    if (e.stack) err.stack = e.stack;
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}
