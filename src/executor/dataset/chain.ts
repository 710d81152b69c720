/**
 * The fused operator chain of one task. Rows arrive in batches; row operators (map, flatMap,
 * filter, select, window, limit; see src/ops/operators) are linked into one push function that
 * takes each row through all of them before the next row, so nothing is materialised between
 * operators. `mapShard` hands the shard's stream to the user function and starts a new segment
 * after it. The first segment keeps the cursor on the input record being processed, so a failing
 * user function is reported with the file and line (or row) it was working on.
 */
import { operatorLabel } from "../../ops/logical.ts";
import type { StageOp } from "../../ops/planner.ts";
import { mapShardSegment, rowOperator } from "../../ops/operators/index.ts";
import type { ChainEnv, RowOperator, SegmentState, Sink } from "../../ops/operators/index.ts";

export type { ChainEnv, Cursor } from "../../ops/operators/index.ts";
export { userError } from "../../ops/operators/index.ts";

type Batches = AsyncIterable<unknown[]>;

/** Applies `ops` to the batches of `input`. */
export async function buildChain(ops: StageOp[], input: Batches, env: ChainEnv): Promise<Batches> {
  let stream = input;
  let segment: RowOperator[] = [];
  let first = true;
  for (const op of ops) {
    if (op.kind !== "mapShard") {
      segment.push(await rowOperator(op, env));
      continue;
    }
    if (segment.length) stream = rowSegment(segment, stream, env, first);
    segment = [];
    first = false;
    const label = operatorLabel(op);
    stream = mapShardSegment(await env.resolve(op.fn, label), label, stream, env);
  }
  if (segment.length) stream = rowSegment(segment, stream, env, first);
  return stream;
}

async function* rowSegment(operators: RowOperator[], input: Batches, env: ChainEnv, tracksCursor: boolean): Batches {
  const out: unknown[] = [];
  const state: SegmentState = { stopped: false };
  let head: Sink = { push: (row) => void out.push(row), flush: () => {} };
  for (let i = operators.length - 1; i >= 0; i--) head = operators[i](head, state);
  const cursor = env.cursor;
  if (!state.stopped) {
    for await (const batch of input) {
      for (let i = 0; i < batch.length; i++) {
        if (tracksCursor) cursor.index = i;
        head.push(batch[i]);
        if (state.stopped) break;
      }
      if (out.length) yield out.splice(0, out.length);
      if (state.stopped) break;
    }
  }
  if (tracksCursor) cursor.known = false;
  head.flush();
  if (out.length) yield out.splice(0, out.length);
}
