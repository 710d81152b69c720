/**
 * Errors raised by the Dataset layer: building plans, planning them, and running their tasks.
 * Each carries a stable code and a hint; a failure inside a user function is re-thrown as a
 * UserFunctionError naming the operator, the shard, the input file and the record position.
 * UserFunctionError and TaskError are retryable (user code may call flaky services; intermediate
 * files may hit a storage hiccup); plan, resolve and join-order errors are not.
 */
import { KilnError } from "../errors.ts";

/** A Dataset was built or planned wrongly (bad argument, unsupported operator order). */
export class DatasetPlanError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_DATASET_PLAN", message, hint);
  }
}

/** An executor cannot run a plan, e.g. the pool was handed a closure. */
export class PlanNotPortableError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_PLAN_NOT_PORTABLE", message, hint);
  }
}

/** A function reference could not be resolved to a callable export. */
export class FunctionResolveError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_FUNCTION_RESOLVE", message, hint, options);
  }
}

/** Where a record came from: the file (or inline source) and its line or row number (1-based). */
export interface RecordPosition {
  source: string;
  /** 1-based line (jsonl) or row (parquet, inline items, intermediate files). */
  record: number;
  unit: "line" | "row";
}

/** A user function threw. The original error is the `cause`. */
export class UserFunctionError extends KilnError {
  readonly operator: string;
  readonly shard: number;
  readonly shardCount: number;
  readonly position: RecordPosition | undefined;
  readonly attempt: number;

  constructor(args: {
    operator: string;
    shard: number;
    shardCount: number;
    attempt: number;
    position: RecordPosition | undefined;
    cause: unknown;
  }) {
    const where = args.position
      ? `${args.position.source} ${args.position.unit} ${args.position.record}`
      : "no input record (shard start or end)";
    const reason = args.cause instanceof Error ? args.cause.message : String(args.cause);
    super(
      "KILN_USER_FUNCTION",
      `${args.operator} threw on shard ${args.shard} of ${args.shardCount} at ${where} (attempt ${args.attempt}): ${reason}`,
      "fix the function or the record it names; the original error is attached as `cause`",
      { cause: args.cause },
    );
    this.operator = args.operator;
    this.shard = args.shard;
    this.shardCount = args.shardCount;
    this.position = args.position;
    this.attempt = args.attempt;
  }

  /** User code may depend on something flaky; a retry costs one more attempt of one shard. */
  override get retryable(): boolean {
    return true;
  }
}

/** Something other than a user function went wrong inside a task (I/O, corrupt intermediate file). */
export class TaskError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown; retryable?: boolean }) {
    super("KILN_DATASET_TASK", message, hint, options);
    this.canRetry = options?.retryable ?? true;
  }

  private readonly canRetry: boolean;

  override get retryable(): boolean {
    return this.canRetry;
  }
}

/** The inputs of a sortedMergeJoin are not co-partitioned or a shard is not sorted by its key. */
export class JoinInputError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_JOIN_INPUT", message, hint);
  }
}

/** An iterate did not reach its fixpoint within its round limit. */
export class IterationLimitError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_ITERATION_LIMIT", message, hint);
  }
}
