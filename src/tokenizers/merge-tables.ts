/**
 * The data structures of the BPE merge loop: an open-addressing hash table from an id pair to its
 * merge rule and one from a token's bytes to its id (typed arrays, integer hashing, no per-lookup
 * allocation, and plain arrays that a compiled vocabulary file stores as they are) and a binary
 * min-heap of numeric keys used to merge long pieces in O(n log n). Compiled vocabulary files store
 * the slots as these hash functions placed them: changing a hash means raising
 * COMPILED_FORMAT_VERSION (vocabulary-cache.ts) so that old files are rebuilt.
 */

/** Returned by `PairTable.get` when the pair has no merge rule. */
export const NO_MERGE = -1;

function capacityFor(count: number): number {
  let capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  return capacity;
}

/** The typed arrays behind a PairTable (a power-of-two length each; empty slots have left = -1). */
export interface PairTableArrays {
  lefts: Int32Array;
  rights: Int32Array;
  values: Int32Array;
}

/** Open-addressing hash table from an id pair to a merge index, on typed arrays. */
export class PairTable {
  readonly lefts: Int32Array;
  readonly rights: Int32Array;
  readonly values: Int32Array;
  private readonly mask: number;
  constructor(count: number, arrays?: PairTableArrays) {
    const capacity = arrays ? arrays.lefts.length : capacityFor(count);
    this.mask = capacity - 1;
    this.lefts = arrays ? arrays.lefts : new Int32Array(capacity).fill(-1);
    this.rights = arrays ? arrays.rights : new Int32Array(capacity);
    this.values = arrays ? arrays.values : new Int32Array(capacity);
  }
  private slot(left: number, right: number): number {
    let h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    let i = h & this.mask;
    while (this.lefts[i] !== -1 && (this.lefts[i] !== left || this.rights[i] !== right)) i = (i + 1) & this.mask;
    return i;
  }
  get(left: number, right: number): number {
    const i = this.slot(left, right);
    return this.lefts[i] === -1 ? NO_MERGE : this.values[i];
  }
  set(left: number, right: number, value: number): void {
    const i = this.slot(left, right);
    this.lefts[i] = left;
    this.rights[i] = right;
    this.values[i] = value;
  }
}

/** FNV-1a over bytes[start, end). */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h;
}

/**
 * Open-addressing hash table from a token's bytes to its id. Slots hold ids (-1 = empty); the bytes
 * are those of `blob[offsets[id], offsets[id + 1])`, so a lookup compares without allocating.
 */
export class BytesIdTable {
  readonly slots: Int32Array;
  private readonly mask: number;
  constructor(
    private readonly blob: Uint8Array,
    private readonly offsets: Uint32Array,
    count: number,
    slots?: Int32Array,
  ) {
    this.slots = slots ?? new Int32Array(capacityFor(count)).fill(-1);
    this.mask = this.slots.length - 1;
  }
  /** The id whose bytes equal bytes[start, end), or -1. */
  find(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    for (let i = hashBytes(bytes, start, end) & this.mask; ; i = (i + 1) & this.mask) {
      const id = this.slots[i];
      if (id < 0) return -1;
      const from = this.offsets[id];
      if (this.offsets[id + 1] - from === length && this.sameBytes(from, bytes, start, length)) return id;
    }
  }
  /** Adds an id (its bytes must not be in the table yet). */
  insert(id: number): void {
    let i = hashBytes(this.blob, this.offsets[id], this.offsets[id + 1]) & this.mask;
    while (this.slots[i] >= 0) i = (i + 1) & this.mask;
    this.slots[i] = id;
  }
  private sameBytes(from: number, bytes: Uint8Array, start: number, length: number): boolean {
    const blob = this.blob;
    for (let k = 0; k < length; k++) if (blob[from + k] !== bytes[start + k]) return false;
    return true;
  }
}

/** Binary min-heap of numeric keys with two payload fields, on growable typed arrays. */
export class MergeHeap {
  size = 0;
  private keys: Float64Array;
  private merges: Int32Array;
  private vers: Uint32Array;
  constructor(capacity: number) {
    this.keys = new Float64Array(capacity * 2 + 8);
    this.merges = new Int32Array(capacity * 2 + 8);
    this.vers = new Uint32Array(capacity * 2 + 8);
  }
  push(key: number, merge: number, ver: number): void {
    if (this.size === this.keys.length) this.growTo(this.size * 2);
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent] <= key) break;
      this.move(parent, i);
      i = parent;
    }
    this.keys[i] = key;
    this.merges[i] = merge;
    this.vers[i] = ver;
  }
  pop(): { key: number; merge: number; ver: number } {
    const top = { key: this.keys[0], merge: this.merges[0], ver: this.vers[0] };
    const last = --this.size;
    const key = this.keys[last];
    const merge = this.merges[last];
    const ver = this.vers[last];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && this.keys[child + 1] < this.keys[child]) child++;
      if (this.keys[child] >= key) break;
      this.move(child, i);
      i = child;
    }
    this.keys[i] = key;
    this.merges[i] = merge;
    this.vers[i] = ver;
    return top;
  }
  private move(from: number, to: number): void {
    this.keys[to] = this.keys[from];
    this.merges[to] = this.merges[from];
    this.vers[to] = this.vers[from];
  }
  private growTo(capacity: number): void {
    const keys = new Float64Array(capacity);
    keys.set(this.keys);
    const merges = new Int32Array(capacity);
    merges.set(this.merges);
    const vers = new Uint32Array(capacity);
    vers.set(this.vers);
    this.keys = keys;
    this.merges = merges;
    this.vers = vers;
  }
}
