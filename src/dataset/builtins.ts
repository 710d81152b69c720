/**
 * Module-level functions the Dataset API plans with on the user's behalf (referenced with
 * fn(import.meta.url, ...) like any user function, so they run in every executor): the pieces of
 * `countByKey`, a keyed count through the shuffle with a map-side combiner.
 */
import type { ShuffleKey } from "../shuffle/index.ts";

export interface KeyCount {
  key: ShuffleKey;
  count: number;
}

export function keyWithOne(key: ShuffleKey): KeyCount {
  return { key, count: 1 };
}

export function keyOf(row: KeyCount): ShuffleKey {
  return row.key;
}

export function addKeyCounts(a: KeyCount, b: KeyCount): KeyCount {
  return { key: a.key, count: a.count + b.count };
}

export async function sumKeyCounts(key: ShuffleKey, values: AsyncIterable<KeyCount>): Promise<KeyCount> {
  let count = 0;
  for await (const v of values) count += v.count;
  return { key, count };
}
