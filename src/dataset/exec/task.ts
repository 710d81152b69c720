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
import type { FnSpec, JsonValue } from "../fn.ts";
import type { InputSplit } from "../formats-api.ts";
import type { BadRecordPolicy, Where } from "../logical.ts";
import type { Partitioning, ShuffleReduce, StageOp, WriteSettings, CollectOutput, CountOutput } from "../plan/physical.ts";

// --- task inputs and outputs: what one shard of a stage reads and writes ---------------------------

export type SplitTask = { kind: "split"; split: InputSplit; columns?: string[]; where?: Where[]; onBadRecord: BadRecordPolicy; quarantine?: string };

export type ItemsTask = { kind: "items"; items: JsonValue[]; firstIndex: number };

export type ExchangeTaskOutput = { kind: "exchange"; dir: string; partitioning: Partitioning; partitions: number };

export type ExchangeTask = { kind: "exchange"; files: string[] };

export type ScatterTaskOutput = {
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
};

export type ShuffleTask = {
  kind: "shuffle";
  /** The winning attempt's committed sidecar of every map task, in map-task order. */
  sidecars: string[];
  partition: number;
  operator: string;
  reduce: ShuffleReduce;
  memoryBudgetBytes: number;
  /** Local folder under which the reader spills sorted runs; absent: the OS temp folder of the machine running the task. */
  spillDir?: string;
};

export type FoldTaskOutput = { kind: "fold"; opId: number; initial: JsonValue; fold: FnSpec };

export type WriteTaskOutput = { kind: "write"; opId: number; files: Array<{ tag: string; path: string }> } & WriteSettings;

/** A file a write task committed; `rows` is -1 when the shard was skipped because its files existed. */
export interface WrittenFile {
  tag: string;
  path: string;
  rows: number;
  bytes: number;
  /** An empty parquet file still to be written with its target's schema (see `finish`). */
  deferred?: boolean;
}

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
  /**
   * Set by a runner that may deliver one attempt more than once (a remote worker that died is
   * replaced): unique to the delivery, it joins the attempt in temporary names, so two deliveries
   * of one attempt running at once never write the same temporary file.
   */
  deliveryTag?: string;
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
