/**
 * The data structures of the BPE merge loop: an open-addressing hash table from an id pair to its
 * merge rule (typed arrays, integer hashing, no per-lookup allocation) and a binary min-heap of
 * numeric keys used to merge long pieces in O(n log n).
 */

/** Returned by `PairTable.get` when the pair has no merge rule. */
export const NO_MERGE = -1;

/** Open-addressing hash table from an id pair to a merge index, on typed arrays. */
export class PairTable {
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  constructor(count: number) {
    let capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity).fill(-1);
    this.rights = new Int32Array(capacity);
    this.values = new Int32Array(capacity);
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
