/**
 * The fused operator chain of one task. Rows arrive in batches; row operators (map, flatMap,
 * filter, select, window, limit; see src/dataset/row) are linked into one push function that takes
 * each row through all of them before the next row, so nothing is materialised between operators.
 * `mapShard` hands the shard's stream to the user function, and a sorted merge join walks the stream
 * beside its right side; each starts a new segment after it. The first segment keeps the cursor on
 * the input record being processed, so a failing user function is reported with the file and line
 * (or row) it was working on. A join's right side is opened with a cursor of its own.
 */
import { operatorLabel } from "../logical.ts";
import type { StageOp } from "../plan/physical.ts";
import { joinOperator } from "../physical/join.ts";
import { openInput } from "../physical/index.ts";
import { mapShardSegment, rowOperator } from "../row/index.ts";
import type { Cursor, RowOperator, SegmentState, Sink } from "../row/index.ts";
import type { TaskEnv } from "./context.ts";
import type { SideInput } from "./task.ts";

type Batches = AsyncIterable<unknown[]>;

/** Applies `ops` to the batches of `input`; `sides` holds the right side of each join by its index in `ops`. */
export async function buildChain(ops: StageOp[], input: Batches, env: TaskEnv, sides: Record<string, SideInput>): Promise<Batches> {
  let stream = input;
  let segment: RowOperator[] = [];
  let first = true;
  for (const [index, op] of ops.entries()) {
    if (op.kind !== "mapShard" && op.kind !== "join") {
      segment.push(await rowOperator(op, env));
      continue;
    }
    if (segment.length) stream = rowSegment(segment, stream, env, first);
    segment = [];
    first = false;
    if (op.kind === "mapShard") {
      const label = operatorLabel(op);
      stream = mapShardSegment(await env.resolve(op.fn, label), label, stream, env);
    } else {
      stream = joinOperator.open(op, stream, await openSide(sides[String(index)], env), env);
    }
  }
  if (segment.length) stream = rowSegment(segment, stream, env, first);
  return stream;
}

/** The right side's rows: its own input, through its own operators, with its own cursor. */
async function openSide(side: SideInput | undefined, env: TaskEnv): Promise<{ rows: Batches; cursor: Cursor }> {
  if (!side) throw new Error(`internal: task of stage ${env.desc.stageId} has no right side for a join`);
  const cursor: Cursor = { source: "", first: 1, index: 0, unit: "row", known: false };
  const sideEnv: TaskEnv = { ...env, cursor };
  return { rows: await buildChain(side.ops, openInput(side.input, sideEnv), sideEnv, {}), cursor };
}

/** Rows a segment hands on at once at most: a flatMap that multiplies rows does not hold a whole batch's output. */
const OUT_BATCH = 4096;

/**
 * Pushes `batch[from..]` through the segment until OUT_BATCH rows are out, an operator stops the
 * segment, or the batch ends; returns the index of the next row. Synchronous, so that the per-row
 * loop is optimised once and the generator only waits.
 */
function pushRows(head: Sink, batch: unknown[], from: number, out: unknown[], state: SegmentState, cursor: Cursor | undefined): number {
  for (let i = from; i < batch.length; i++) {
    if (cursor) cursor.index = i;
    head.push(batch[i]);
    if (state.stopped || out.length >= OUT_BATCH) return i + 1;
  }
  return batch.length;
}

async function* rowSegment(operators: RowOperator[], input: Batches, env: TaskEnv, tracksCursor: boolean): Batches {
  const out: unknown[] = [];
  const state: SegmentState = { stopped: false };
  let head: Sink = { push: (row) => void out.push(row), flush: () => {} };
  for (let i = operators.length - 1; i >= 0; i--) head = operators[i](head, state);
  const cursor = env.cursor;
  if (!state.stopped) {
    for await (const batch of input) {
      for (let at = 0; at < batch.length && !state.stopped; ) {
        at = pushRows(head, batch, at, out, state, tracksCursor ? cursor : undefined);
        if (out.length >= OUT_BATCH) yield out.splice(0, out.length);
      }
      if (out.length) yield out.splice(0, out.length);
      if (state.stopped) break;
    }
  }
  if (tracksCursor) cursor.known = false;
  head.flush();
  if (out.length) yield out.splice(0, out.length);
}
