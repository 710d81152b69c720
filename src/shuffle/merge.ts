/**
 * K-way merge of sorted entry streams. Each source is an async iterable of sorted batches; a binary
 * heap picks the smallest head by (key, sort key), ties going to the earlier source so the result is
 * deterministic. With a combiner, consecutive entries of one key are folded into one as they leave
 * the merge. Output comes in batches to keep per-record async overhead low.
 */
import { compareKeys, type ShuffleKey } from "./key.ts";
import type { ShuffleEntry } from "./frame.ts";

export type EntryBatches<T> = AsyncIterable<ShuffleEntry<T>[]>;

/**
 * The combiner of deduplicate: of two records with one key, the earlier one. Writers sort stably and
 * merges break ties by source order, so "earlier" is input order. Writers recognise it and keep the
 * first entry's encoded bytes without decoding the others.
 */
export function keepFirst<T>(a: T, _b?: T): T {
  return a;
}

export function compareEntries<T>(a: ShuffleEntry<T>, b: ShuffleEntry<T>): number {
  const c = compareKeys(a.key, b.key);
  if (c !== 0 || a.sort === undefined) return c;
  return compareKeys(a.sort, b.sort as ShuffleKey);
}

interface Cursor<T> {
  source: number;
  iterator: AsyncIterator<ShuffleEntry<T>[]>;
  batch: ShuffleEntry<T>[];
  index: number;
}

function less<T>(a: Cursor<T>, b: Cursor<T>): boolean {
  const c = compareEntries(a.batch[a.index], b.batch[b.index]);
  return c < 0 || (c === 0 && a.source < b.source);
}

class CursorHeap<T> {
  readonly items: Cursor<T>[] = [];
  push(c: Cursor<T>): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }
  /** Restores the heap after the top cursor advanced (or was replaced by the last one). */
  siftDown(): void {
    const h = this.items;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l], h[m])) m = l;
      if (r < h.length && less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
  removeTop(): void {
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.siftDown();
    }
  }
}

async function nextBatch<T>(it: AsyncIterator<ShuffleEntry<T>[]>): Promise<ShuffleEntry<T>[] | undefined> {
  for (;;) {
    const r = await it.next();
    if (r.done) return undefined;
    if (r.value.length > 0) return r.value;
  }
}

/** What a merge has emitted so far: the batch being filled and, with a combiner, the entry whose key may repeat. */
interface MergeOutput<T> {
  out: ShuffleEntry<T>[];
  pending: ShuffleEntry<T> | undefined;
}

/**
 * What a cursor's batch holds where an entry was taken: the merge lets go of each entry as it passes
 * it on. A batch stays in its cursor while the other runs' entries go by (about runs × its length),
 * and an entry still in it would keep the record its consumer decoded (FrameEntry keeps it) alive
 * through young collections, to be copied and promoted. Deduplicating 2 GB from 30 map tasks, the
 * reduce phase took 3.7 s instead of 2.5-2.7 (from 8 map tasks: 2.5), a third of it or more in
 * collections, with 50-65 % of what the workers allocated outliving a young collection.
 */
const TAKEN: ShuffleEntry<never> = {
  key: null,
  sort: undefined,
  get record(): never {
    throw new Error("shuffle merge: an entry was read after the merge passed it on");
  },
};

/**
 * Moves entries from the heap's top to the output until the top cursor's batch runs out (that cursor
 * is returned, still on top, for the caller to refill) or `batchSize` entries are ready. Synchronous,
 * so that the per-entry loop is optimised once and never waits.
 */
function drain<T>(heap: CursorHeap<T>, emitted: MergeOutput<T>, combine: ((a: T, b: T) => T) | undefined, batchSize: number): Cursor<T> | undefined {
  while (heap.items.length > 0) {
    const top = heap.items[0];
    const entry = top.batch[top.index];
    top.batch[top.index++] = TAKEN;
    const exhausted = top.index === top.batch.length;
    if (!exhausted) heap.siftDown();
    const pending = emitted.pending;
    if (!combine) {
      emitted.out.push(entry);
    } else if (pending && compareKeys(pending.key, entry.key) === 0) {
      if (combine !== keepFirst) emitted.pending = { key: pending.key, sort: pending.sort, record: combine(pending.record, entry.record) };
    } else {
      if (pending) emitted.out.push(pending);
      emitted.pending = entry;
    }
    if (exhausted) return top;
    if (emitted.out.length >= batchSize) return undefined;
  }
  return undefined;
}

/**
 * Entries per merged batch. Small, because everything a batch holds is alive until its consumer is
 * done with it: at 1,024 entries of about 3 KB (the shuffle benchmark's documents) a batch outgrew what
 * a pool worker allocates between two young collections, so nearly every decoded record was copied
 * by the scavenger and many were promoted (DESIGN.md, shuffle).
 */
export const MERGE_BATCH_ENTRIES = 128;

/** Merges sorted sources into one sorted stream of batches (folding equal keys when `combine` is set). */
export async function* mergeSorted<T>(
  sources: EntryBatches<T>[],
  combine?: (a: T, b: T) => T,
  batchSize = MERGE_BATCH_ENTRIES,
): AsyncGenerator<ShuffleEntry<T>[]> {
  const heap = new CursorHeap<T>();
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  try {
    for (let i = 0; i < iterators.length; i++) {
      const batch = await nextBatch(iterators[i]);
      if (batch) heap.push({ source: i, iterator: iterators[i], batch, index: 0 });
    }
    const emitted: MergeOutput<T> = { out: [], pending: undefined };
    while (heap.items.length > 0) {
      const exhausted = drain(heap, emitted, combine, batchSize);
      if (exhausted) {
        const batch = await nextBatch(exhausted.iterator);
        if (batch) {
          exhausted.batch = batch;
          exhausted.index = 0;
          heap.siftDown();
        } else {
          heap.removeTop();
        }
      }
      if (emitted.out.length >= batchSize) {
        yield emitted.out;
        emitted.out = [];
      }
    }
    if (emitted.pending) emitted.out.push(emitted.pending);
    if (emitted.out.length > 0) yield emitted.out;
  } finally {
    await Promise.all(iterators.map((it) => it.return?.().catch(() => undefined)));
  }
}
