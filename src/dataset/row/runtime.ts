/**
 * What operator implementations share at run time: the task's user context, the cursor on the
 * input record being processed, the function resolver, the push-style sink a row operator feeds,
 * and the wrapping of a user function's exception into a UserFunctionError that names the
 * operator, shard, file and record.
 */
import { KilnError } from "../../errors.ts";
import { UserFunctionError } from "../errors.ts";
import type { RecordPosition } from "../errors.ts";
import type { AnyFunction, FnSpec, UserContext } from "../fn.ts";

/** Resolves a function slot of the plan to a callable; `label` names the operator in errors. */
export type Resolver = (spec: FnSpec, label: string) => Promise<AnyFunction>;

/** The input record being processed: `first + index` is its number (1-based), or `lines[index]` when the batch has gaps. */
export interface Cursor {
  source: string;
  first: number;
  index: number;
  unit: "line" | "row";
  known: boolean;
  lines?: readonly number[];
}

export interface ChainEnv {
  ctx: UserContext;
  cursor: Cursor;
  resolve: Resolver;
}

/** Where a row operator sends its output; `flush` is called once at the end of the shard. */
export interface Sink {
  push(row: unknown): void;
  flush(): void;
}

/** Shared by the operators of one fused segment; `stopped` ends reading early (take). */
export interface SegmentState {
  stopped: boolean;
}

/** A row operator, ready to be linked in front of the next sink. */
export type RowOperator = (next: Sink, state: SegmentState) => Sink;

/** Points the cursor at the first record of a new batch (index 0); `lines` when its records are not consecutive. */
export function moveCursor(cursor: Cursor, at: { source: string; first: number; unit: "line" | "row"; lines?: readonly number[] }): void {
  cursor.source = at.source;
  cursor.first = at.first;
  cursor.unit = at.unit;
  cursor.lines = at.lines;
  cursor.index = 0;
  cursor.known = true;
}

export function positionOf(cursor: Cursor): RecordPosition | undefined {
  if (!cursor.known) return undefined;
  return { source: cursor.source, record: cursor.lines?.[cursor.index] ?? cursor.first + cursor.index, unit: cursor.unit };
}

export function userError(env: ChainEnv, label: string, err: unknown): Error {
  // Errors from upstream (another operator, the reader) pass through with their own attribution.
  if (err instanceof UserFunctionError || err instanceof KilnError) return err as Error;
  return new UserFunctionError({
    operator: label,
    shard: env.ctx.shard,
    shardCount: env.ctx.shardCount,
    attempt: env.ctx.attempt,
    position: positionOf(env.cursor),
    cause: err,
  });
}
