/**
 * Where the map side's encoded entries wait for a flush: `PartitionArena`, one partition's entries
 * copied into blocks it owns, with their keys in parallel arrays and its sort order, and
 * `BlockPool`, the thread's full-size blocks that flushed partitions gave back for the next arenas.
 */
import { compareKeys, type ShuffleKey } from "./key.ts";

const MIN_ARENA_BLOCK = 4 * 1024;
const MAX_ARENA_BLOCK = 1024 * 1024;

/**
 * A buffered key that is a string may be a slice of a much larger string (msgpackr's native decoder
 * returns slices of one string that bundles many; JSON.parse and String.prototype.slice can do the
 * same), and keeping the slice keeps the whole parent alive, unaccounted. Strings of 13 or more
 * UTF-16 units are therefore re-sliced from a fresh copy of themselves, which holds only their own
 * characters; V8 copies shorter slices anyway.
 */
function ownCopy<K>(key: K): K {
  return typeof key === "string" && key.length >= 13 ? ((" " + key).slice(1) as K) : key;
}

/**
 * Code units [from, from + 3) of a string as one number that orders as the units do (each unit + 1,
 * 0 past the end, so a shorter string comes first); below 2^51, so exact.
 */
function unitsPrefix(s: string, from: number): number {
  const a = from < s.length ? s.charCodeAt(from) + 1 : 0;
  const b = from + 1 < s.length ? s.charCodeAt(from + 1) + 1 : 0;
  const c = from + 2 < s.length ? s.charCodeAt(from + 2) + 1 : 0;
  return (a * 131072 + b) * 131072 + c;
}

/** How long blocks given back wait for the thread's next writer once its last one has finished. */
const POOL_GRACE_MS = 1000;

/**
 * Full-size (MAX_ARENA_BLOCK) arena blocks that flushed partitions gave back, taken again before new
 * memory is asked for, by the same writer or the thread's next one (a worker runs map tasks one
 * after another). A let-go block waits for a full collection to be freed (its Buffer object has long
 * been promoted), so without the pool every block is new memory, and on this machine each fresh
 * 4 KiB page costs about 8 µs, more than the copy into it. The free blocks never exceed what the
 * flushes gave back; POOL_GRACE_MS after the thread's last writer finished they are let go.
 */
class BlockPool {
  private free: Buffer[] = [];
  private writers = 0;
  private drain: NodeJS.Timeout | undefined;

  /** A writer opened: blocks given back stay for it. */
  open(): void {
    this.writers++;
    clearTimeout(this.drain);
    this.drain = undefined;
  }

  /** A writer finished: after the last, the free blocks go unless a writer opens within POOL_GRACE_MS. */
  close(): void {
    this.writers--;
    if (this.writers > 0 || this.free.length === 0) return;
    this.drain = setTimeout(() => this.letGo(), POOL_GRACE_MS);
    this.drain.unref();
  }

  /** Lets every free block go (to the garbage collector). */
  letGo(): void {
    clearTimeout(this.drain);
    this.drain = undefined;
    this.free = [];
  }

  /** A block of `size` bytes, and whether it was given back earlier. */
  take(size: number): { block: Buffer; reused: boolean } {
    const block = size === MAX_ARENA_BLOCK ? this.free.pop() : undefined;
    return block ? { block, reused: true } : { block: Buffer.allocUnsafeSlow(size), reused: false };
  }

  giveBack(blocks: readonly Buffer[]): void {
    for (const block of blocks) if (block.length === MAX_ARENA_BLOCK) this.free.push(block);
  }

  /** Blocks waiting to be taken again. */
  get freeBlocks(): number {
    return this.free.length;
  }
}

/**
 * The pool of this thread's writers (each worker thread loads its own copy of this module). A reader
 * lets its free blocks go when it opens (`letGo`), as the thread has moved on to a reduce, whose
 * memory the idle blocks would add to.
 */
export const arenaBlocks = new BlockPool();

/**
 * Per-partition storage for encoded entries: the bytes are copied into blocks owned by one
 * partition, so flushing a partition frees exactly its memory. Entries are kept as parallel arrays
 * (key, sort key, block, offset, length), not as one object and buffer view each, which keeps the
 * garbage collector out of the hot path. Blocks grow from 4 KiB to 1 MiB. String keys also keep
 * their first six code units as two numbers in contiguous arrays, so the sort compares those and
 * reaches the strings, scattered over the heap, only on a tie.
 */
export class PartitionArena {
  readonly keys: ShuffleKey[] = [];
  readonly sorts: (ShuffleKey | undefined)[] = [];
  /** Per entry: block index, offset in the block, length. */
  readonly locations: number[] = [];
  readonly blocks: Buffer[] = [];
  /** Per string key: `unitsPrefix` of units 0–2 and of units 3–5 (while every key is a string). */
  private readonly prefixHigh: number[] = [];
  private readonly prefixLow: number[] = [];
  private stringKeys = true;
  private used = 0;

  /** Blocks taken from the pool rather than newly allocated. */
  reusedBlocks = 0;

  constructor(private readonly pool: BlockPool) {}

  get size(): number {
    return this.keys.length;
  }

  /** Copies `bytes` in; returns how many new bytes were allocated for it. */
  append(key: ShuffleKey, sort: ShuffleKey | undefined, bytes: Buffer): number {
    let grown = 0;
    let block = this.blocks[this.blocks.length - 1];
    if (!block || this.used + bytes.length > block.length) {
      const size = Math.max(bytes.length, Math.min(MAX_ARENA_BLOCK, block ? block.length * 2 : MIN_ARENA_BLOCK));
      const taken = this.pool.take(size);
      block = taken.block;
      if (taken.reused) this.reusedBlocks++;
      this.blocks.push(block);
      this.used = 0;
      grown = size;
    }
    bytes.copy(block, this.used);
    if (typeof key !== "string") this.stringKeys = false;
    else if (this.stringKeys) {
      this.prefixHigh.push(unitsPrefix(key, 0));
      this.prefixLow.push(unitsPrefix(key, 3));
    }
    this.keys.push(ownCopy(key));
    this.sorts.push(sort === undefined ? undefined : ownCopy(sort));
    this.locations.push(this.blocks.length - 1, this.used, bytes.length);
    this.used += bytes.length;
    return grown;
  }

  bytesOf(i: number): Buffer {
    const l = this.locations;
    const start = l[3 * i + 1];
    return this.blocks[l[3 * i]].subarray(start, start + l[3 * i + 2]);
  }

  lengthOf(i: number): number {
    return this.locations[3 * i + 2];
  }

  /** Copies entry `i`'s bytes to `target` at `at` (no view object per entry). */
  copyInto(i: number, target: Buffer, at: number): void {
    const l = this.locations;
    const start = l[3 * i + 1];
    this.blocks[l[3 * i]].copy(target, at, start, start + l[3 * i + 2]);
  }

  /** Entry indexes in (key, sort key) order; stable, so equal entries keep their arrival order. */
  sortedOrder(hasSort: boolean): number[] {
    const { keys, sorts } = this;
    const order = Array.from({ length: keys.length }, (_, i) => i);
    if (this.stringKeys) {
      const ks = keys as string[];
      const { prefixHigh: high, prefixLow: low } = this;
      order.sort(
        (a, b) =>
          compareNumbers(high[a], high[b]) ||
          compareNumbers(low[a], low[b]) ||
          (ks[a] < ks[b] ? -1 : ks[a] > ks[b] ? 1 : hasSort ? compareKeys(sorts[a] as ShuffleKey, sorts[b] as ShuffleKey) : 0),
      );
    } else {
      order.sort((a, b) => compareKeys(keys[a], keys[b]) || (hasSort ? compareKeys(sorts[a] as ShuffleKey, sorts[b] as ShuffleKey) : 0));
    }
    return order;
  }
}

/**
 * -1/0/1 order of two 48-bit key prefixes. One module-level function, not a closure made per flush,
 * so the sort's comparator keeps one call target and is optimised once per thread; it returns small
 * integers so that no result is a boxed double.
 */
function compareNumbers(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
