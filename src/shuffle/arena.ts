/**
 * Where the map side's encoded entries wait for a flush: `PartitionArena`, one partition's entries
 * copied into blocks it owns, with their places and key prefixes in typed arrays and its sort order,
 * and `BlockPool`, the thread's blocks that flushed partitions gave back for the next arenas.
 */
import { compareKeys, type ShuffleKey } from "./key.ts";
import { stringByteLength, stringHeaderBytes } from "./frame-entry.ts";
import { doubled } from "../util/typed-arrays.ts";

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

/** Heap bytes a buffered key or sort key keeps alive (strings: header and up to two bytes a unit). */
export function retainedBytes(value: unknown): number {
  if (typeof value === "string") return 16 + 2 * value.length;
  return typeof value === "object" && value !== null ? 64 : 0;
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

/** Whether `size` is a block size the pool keeps: a power of two from MIN_ARENA_BLOCK to MAX_ARENA_BLOCK. */
function pooledSize(size: number): boolean {
  return size >= MIN_ARENA_BLOCK && size <= MAX_ARENA_BLOCK && (size & (size - 1)) === 0;
}

/**
 * Arena blocks that flushed partitions gave back, by size, taken again before new memory is asked
 * for, by the same writer or the thread's next one (a worker runs map tasks one after another).
 * A let-go block waits for a full collection to be freed (its Buffer object has long been promoted),
 * so without the pool every block is new memory, and on this machine each fresh 4 KiB page costs
 * about 8 µs, more than the copy into it. Every arena block is a power of two from 4 KiB to 1 MiB
 * (a larger entry gets a block of its own size, never pooled), so a partition that never reaches
 * 1 MiB blocks (normalize: a map task's share of each of its partitions is about 1 MB) reuses its
 * blocks too. The free blocks never exceed what the flushes gave back; POOL_GRACE_MS after the
 * thread's last writer finished they are let go.
 */
class BlockPool {
  /** Free blocks by log2 of their size. */
  private free: Buffer[][] = [];
  private count = 0;
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
    if (this.writers > 0 || this.count === 0) return;
    this.drain = setTimeout(() => this.letGo(), POOL_GRACE_MS);
    this.drain.unref();
  }

  /** Lets every free block go (to the garbage collector). */
  letGo(): void {
    clearTimeout(this.drain);
    this.drain = undefined;
    this.free = [];
    this.count = 0;
  }

  /** A block of `size` bytes, and whether it was given back earlier. */
  take(size: number): { block: Buffer; reused: boolean } {
    const block = pooledSize(size) ? this.free[Math.log2(size)]?.pop() : undefined;
    if (!block) return { block: Buffer.allocUnsafeSlow(size), reused: false };
    this.count--;
    return { block, reused: true };
  }

  giveBack(blocks: readonly Buffer[]): void {
    for (const block of blocks) {
      if (!pooledSize(block.length)) continue;
      (this.free[Math.log2(block.length)] ??= []).push(block);
      this.count++;
    }
  }

  /** Blocks waiting to be taken again. */
  get freeBlocks(): number {
    return this.count;
  }
}

/**
 * The pool of this thread's writers (each worker thread loads its own copy of this module). A reader
 * lets its free blocks go when it opens (`letGo`), as the thread has moved on to a reduce, whose
 * memory the idle blocks would add to.
 */
export const arenaBlocks = new BlockPool();

/** The next block's size: `wanted` (a power of two) up to MAX_ARENA_BLOCK, or the power of two that holds an entry of `bytes`, or past 1 MiB the entry's own size. */
function blockSizeFor(bytes: number, wanted: number): number {
  const size = Math.min(MAX_ARENA_BLOCK, wanted);
  if (bytes <= size) return size;
  return bytes > MAX_ARENA_BLOCK ? bytes : 2 ** Math.ceil(Math.log2(bytes));
}

/** Entry fields in `locations`: block index, offset in the block, length, key bytes' offset in the block, their length. */
const STRIDE = 5;
/** Entries an arena has room for before its per-entry arrays first grow. */
const INITIAL_ENTRIES = 64;

/**
 * The order of two well-formed strings' UTF-16 code units (how compareKeys orders strings), from
 * their UTF-8 bytes, which differ at least once. UTF-8 orders by code point; the two orders differ
 * only where a character of U+E000–U+FFFF (lead byte 0xEE or 0xEF) meets one past U+FFFF (lead byte
 * 0xF0–0xF4), whose UTF-16 surrogates come first. Within one character the lead bytes settle it, so
 * only the first byte that differs is looked at.
 */
function utf16Order(a: Buffer, aFrom: number, aLength: number, b: Buffer, bFrom: number, bLength: number): number {
  const n = Math.min(aLength, bLength);
  let i = 0;
  while (i < n && a[aFrom + i] === b[bFrom + i]) i++;
  if (i === n) return aLength < bLength ? -1 : aLength > bLength ? 1 : 0;
  const x = a[aFrom + i];
  const y = b[bFrom + i];
  if (x >= 0xf0 && (y === 0xee || y === 0xef)) return -1;
  if (y >= 0xf0 && (x === 0xee || x === 0xef)) return 1;
  return x < y ? -1 : 1;
}

/**
 * Per-partition storage for encoded entries: the bytes are copied into blocks owned by one
 * partition, so flushing a partition frees exactly its memory. Entries are kept as numbers in typed
 * arrays (block, offset, length, and where the key's bytes lie), not as one object and buffer view
 * each, which keeps the garbage collector out of the hot path. Blocks are powers of two, growing
 * from 4 KiB to 1 MiB.
 *
 * While every key is a string the keys are not kept as strings at all: each keeps its first twelve
 * code units as four numbers side by side, which the sort compares first, and on a tie the
 * sort compares the key's UTF-8 bytes in the entry. Held until the flush, a string per entry outlived
 * young collections and was promoted (normalize: a quarter of what survived them). Keys of other
 * types are kept as values (the strings before the first of them are decoded from their bytes then).
 */
export class PartitionArena {
  /** Keys as values, once a key that is not a string came (empty while every key is a string). */
  private readonly keys: ShuffleKey[] = [];
  readonly sorts: (ShuffleKey | undefined)[] = [];
  /**
   * Per entry, STRIDE numbers (see STRIDE). Typed arrays, grown by doubling: a push of five numbers
   * onto a JavaScript array cost more than the entry's copy, and the typed arrays' memory is outside
   * the collected heap.
   */
  private locations = new Int32Array(INITIAL_ENTRIES * STRIDE);
  readonly blocks: Buffer[] = [];
  /** Per string key: `unitsPrefix` of units 0–2, 3–5, 6–8 and 9–11, side by side (while every key is a string). */
  private prefixes = new Float64Array(INITIAL_ENTRIES * 4);
  /** Per string key: 0 unknown, 1 when its UTF-8 holds no byte of 0xEE or more, 2 when it does (see utf16Order). */
  private highBytes = new Uint8Array(INITIAL_ENTRIES);
  private stringKeys = true;
  private count = 0;
  private used = 0;

  /** Blocks taken from the pool rather than newly allocated. */
  reusedBlocks = 0;

  constructor(private readonly pool: BlockPool) {}

  get size(): number {
    return this.count;
  }

  /**
   * Copies `bytes` (the entry encoded with `key` first) in; returns the bytes of memory it took: new
   * block bytes and a key kept as a value.
   */
  append(key: ShuffleKey, sort: ShuffleKey | undefined, bytes: Buffer): number {
    let taken = 0;
    let block = this.blocks[this.blocks.length - 1];
    if (!block || this.used + bytes.length > block.length) {
      const size = blockSizeFor(bytes.length, block ? block.length * 2 : MIN_ARENA_BLOCK);
      const got = this.pool.take(size);
      block = got.block;
      if (got.reused) this.reusedBlocks++;
      this.blocks.push(block);
      this.used = 0;
      taken = size;
    }
    bytes.copy(block, this.used);
    // The entry is a msgpack array whose first element is the key (frame.ts): a string key's bytes follow its header.
    const header = typeof key === "string" ? stringHeaderBytes(bytes, 1) : 0;
    if (this.stringKeys && header === 0) this.keepKeysAsValues();
    if (this.count === this.highBytes.length) this.grow();
    const l = this.locations;
    const at = STRIDE * this.count;
    l[at] = this.blocks.length - 1;
    l[at + 1] = this.used;
    l[at + 2] = bytes.length;
    if (this.stringKeys && typeof key === "string") {
      const p = this.prefixes;
      const i = 4 * this.count;
      p[i] = unitsPrefix(key, 0);
      p[i + 1] = unitsPrefix(key, 3);
      p[i + 2] = unitsPrefix(key, 6);
      p[i + 3] = unitsPrefix(key, 9);
      l[at + 3] = this.used + 1 + header;
      l[at + 4] = stringByteLength(bytes, 1, header);
    } else {
      this.keys.push(ownCopy(key));
      taken += retainedBytes(key);
    }
    this.sorts.push(sort === undefined ? undefined : ownCopy(sort));
    this.count++;
    this.used += bytes.length;
    return taken;
  }

  /** Doubles the room of the per-entry arrays. */
  private grow(): void {
    this.locations = doubled(this.locations, (n) => new Int32Array(n));
    this.prefixes = doubled(this.prefixes, (n) => new Float64Array(n));
    this.highBytes = doubled(this.highBytes, (n) => new Uint8Array(n));
  }

  /** A key that is not a string came: every key from now on is kept as a value, the earlier ones decoded from their bytes. */
  private keepKeysAsValues(): void {
    this.stringKeys = false;
    for (let i = 0; i < this.count; i++) this.keys.push(this.stringKeyOf(i));
  }

  private stringKeyOf(i: number): string {
    const l = this.locations;
    const at = l[STRIDE * i + 3];
    return this.blocks[l[STRIDE * i]].toString("utf8", at, at + l[STRIDE * i + 4]);
  }

  /** Entry `i`'s key. */
  keyOf(i: number): ShuffleKey {
    return this.stringKeys ? this.stringKeyOf(i) : this.keys[i];
  }

  /** Whether entries `i` and `j` have equal keys (string keys: equal bytes, so no UTF-16 order is needed). */
  sameKey(i: number, j: number): boolean {
    return this.stringKeys ? this.keyByteOrder(i, j) === 0 : compareKeys(this.keys[i], this.keys[j]) === 0;
  }

  /** The order of two string keys' UTF-8 bytes. */
  private keyByteOrder(i: number, j: number): number {
    const l = this.locations;
    const aFrom = l[STRIDE * i + 3];
    const bFrom = l[STRIDE * j + 3];
    return this.blocks[l[STRIDE * i]].compare(this.blocks[l[STRIDE * j]], bFrom, bFrom + l[STRIDE * j + 4], aFrom, aFrom + l[STRIDE * i + 4]);
  }

  /** compareKeys of two string keys, from their bytes. */
  private compareKeyBytes(i: number, j: number): number {
    const order = this.keyByteOrder(i, j);
    if (order === 0 || (this.highBytesOf(i) === 1 && this.highBytesOf(j) === 1)) return order;
    const l = this.locations;
    return utf16Order(this.blocks[l[STRIDE * i]], l[STRIDE * i + 3], l[STRIDE * i + 4], this.blocks[l[STRIDE * j]], l[STRIDE * j + 3], l[STRIDE * j + 4]);
  }

  private highBytesOf(i: number): number {
    let known = this.highBytes[i];
    if (known === 0) {
      const l = this.locations;
      const block = this.blocks[l[STRIDE * i]];
      const from = l[STRIDE * i + 3];
      const to = from + l[STRIDE * i + 4];
      known = 1;
      for (let k = from; k < to; k++) if (block[k] >= 0xee) known = 2;
      this.highBytes[i] = known;
    }
    return known;
  }

  bytesOf(i: number): Buffer {
    const l = this.locations;
    const start = l[STRIDE * i + 1];
    return this.blocks[l[STRIDE * i]].subarray(start, start + l[STRIDE * i + 2]);
  }

  lengthOf(i: number): number {
    return this.locations[STRIDE * i + 2];
  }

  /** Copies entry `i`'s bytes to `target` at `at` (no view object per entry). */
  copyInto(i: number, target: Buffer, at: number): void {
    const l = this.locations;
    const start = l[STRIDE * i + 1];
    this.blocks[l[STRIDE * i]].copy(target, at, start, start + l[STRIDE * i + 2]);
  }

  /** Entry indexes in (key, sort key) order; stable, so equal entries keep their arrival order. */
  sortedOrder(hasSort: boolean): number[] {
    const { keys, sorts } = this;
    const order = Array.from({ length: this.count }, (_, i) => i);
    const bySort = (a: number, b: number) => (hasSort ? compareKeys(sorts[a] as ShuffleKey, sorts[b] as ShuffleKey) : 0);
    if (this.stringKeys) {
      const p = this.prefixes;
      order.sort(
        (a, b) =>
          compareNumbers(p[4 * a], p[4 * b]) ||
          compareNumbers(p[4 * a + 1], p[4 * b + 1]) ||
          compareNumbers(p[4 * a + 2], p[4 * b + 2]) ||
          compareNumbers(p[4 * a + 3], p[4 * b + 3]) ||
          this.compareKeyBytes(a, b) ||
          bySort(a, b),
      );
    } else {
      order.sort((a, b) => compareKeys(keys[a], keys[b]) || bySort(a, b));
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
