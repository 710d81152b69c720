/**
 * `mapShard`: hands the whole shard to the user function as an async stream of rows (plus the
 * context with the shard index and count) and re-batches whatever (async) iterable it returns.
 */
import type { AnyFunction } from "../fn.ts";
import type { ChainEnv } from "./runtime.ts";
import { userError } from "./runtime.ts";

const OUTPUT_BATCH = 4096;

export async function* mapShardSegment(f: AnyFunction, label: string, input: AsyncIterable<unknown[]>, env: ChainEnv): AsyncIterable<unknown[]> {
  async function* rows(): AsyncIterable<unknown> {
    for await (const batch of input) yield* batch;
  }
  let produced: AsyncIterable<unknown> | Iterable<unknown>;
  try {
    produced = await f(rows(), env.ctx);
    const isAsync = produced != null && typeof (produced as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
    const isSync = produced != null && typeof (produced as Iterable<unknown>)[Symbol.iterator] === "function";
    if (!isAsync && !isSync) throw new Error("returned neither an iterable nor an async iterable");
  } catch (err) {
    throw userError(env, label, err);
  }
  let buffer: unknown[] = [];
  try {
    for await (const row of produced) {
      buffer.push(row);
      if (buffer.length >= OUTPUT_BATCH) {
        const full = buffer;
        buffer = [];
        yield full;
      }
    }
  } catch (err) {
    throw userError(env, label, err);
  }
  if (buffer.length) yield buffer;
}
