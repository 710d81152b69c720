/**
 * The bounded cache of pre-token → ids used by the BPE encoder. It is keyed by a region of the input
 * text (start, end) and its hash, so a hit needs no substring and no allocation: the stored piece is
 * compared with the text character by character. Two generations bound the memory: when the hot
 * table is full it becomes the cold one and an emptied table takes its place; a piece found in the
 * cold table is promoted back, so pieces in steady use stay cached (an approximate LRU).
 */
export type CachedIds = number | Uint32Array;

/** FNV-1a over the UTF-16 code units of text[start, end). */
export function hashRegion(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

class Generation {
  size = 0;
  private readonly keys: (string | undefined)[];
  private readonly hashes: Int32Array;
  private readonly values: CachedIds[];
  private readonly mask: number;

  constructor(slots: number) {
    this.mask = slots - 1;
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.hashes = new Int32Array(slots);
    this.values = new Array<CachedIds>(slots).fill(0);
  }

  find(text: string, start: number, end: number, hash: number): string | undefined {
    const length = end - start;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const key = this.keys[i];
      if (key === undefined) return undefined;
      if (this.hashes[i] === hash && key.length === length && sameChars(key, text, start)) {
        this.lastSlot = i;
        return key;
      }
    }
  }

  lastSlot = 0;

  valueAt(slot: number): CachedIds {
    return this.values[slot];
  }

  insert(piece: string, hash: number, value: CachedIds): void {
    let i = hash & this.mask;
    while (this.keys[i] !== undefined) i = (i + 1) & this.mask;
    this.keys[i] = piece;
    this.hashes[i] = hash;
    this.values[i] = value;
    this.size++;
  }

  clear(): void {
    this.keys.fill(undefined);
    this.values.fill(0);
    this.size = 0;
  }
}

function sameChars(key: string, text: string, start: number): boolean {
  for (let k = 0; k < key.length; k++) if (key.charCodeAt(k) !== text.charCodeAt(start + k)) return false;
  return true;
}

export class PieceCache {
  private hot: Generation;
  private cold: Generation;
  private readonly entriesPerGeneration: number;

  constructor(entriesPerGeneration: number) {
    let slots = 16;
    while (slots < entriesPerGeneration * 2) slots *= 2;
    this.entriesPerGeneration = entriesPerGeneration;
    this.hot = new Generation(slots);
    this.cold = new Generation(slots);
  }

  /** Ids cached for text[start, end) (whose hashRegion is `hash`), or undefined. */
  get(text: string, start: number, end: number, hash: number): CachedIds | undefined {
    if (this.hot.find(text, start, end, hash) !== undefined) return this.hot.valueAt(this.hot.lastSlot);
    const key = this.cold.find(text, start, end, hash);
    if (key === undefined) return undefined;
    const value = this.cold.valueAt(this.cold.lastSlot);
    this.set(key, hash, value);
    return value;
  }

  /** Caches a piece not in the hot generation. */
  set(piece: string, hash: number, value: CachedIds): void {
    if (this.hot.size >= this.entriesPerGeneration) {
      const emptied = this.cold;
      emptied.clear();
      this.cold = this.hot;
      this.hot = emptied;
    }
    this.hot.insert(piece, hash, value);
  }
}
