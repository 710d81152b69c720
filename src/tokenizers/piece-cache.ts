/**
 * The bounded cache of pre-token → ids used by the BPE encoder. It is keyed by a region of the input
 * text (start, end) and its hash, so neither a hit nor a miss needs a substring: the stored piece is
 * compared with the text character by character. Everything lives in typed arrays (a slot table, a
 * pool of UTF-16 code units for the keys and a pool of ids for the values), so an entry is no object
 * for the garbage collector to trace, move or promote: a cache that turns over hundreds of thousands
 * of pieces adds nothing to old-generation collection. Two generations bound the memory: when the
 * hot one is full (entries, key characters or ids) it becomes the cold one and an emptied one takes
 * its place; a piece found in the cold generation is copied back into the hot one, so pieces in
 * steady use stay cached (an approximate LRU).
 */

/** FNV-1a over the UTF-16 code units of text[start, end). */
export function hashRegion(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * The longest piece (UTF-16 code units) the cache keeps; longer ones are encoded every time. At most
 * 255: a slot keeps the key's length in a byte, 0 marking an empty slot.
 */
export const MAX_CACHED_PIECE = 128;
/** The most ids a cached piece can have: one per UTF-8 byte, at most 3 per unit (kept in a Uint16Array). */
const MAX_IDS_PER_PIECE = MAX_CACHED_PIECE * 3;
/** Pool room per entry, on average: a generation whose pool fills first turns over sooner. */
const CHARS_PER_ENTRY = 12;
const IDS_PER_ENTRY = 4;

/** Copies `count` ids from source[from...] to target[to...] front to back (safe within one buffer when to <= from); a loop, since a count is a few ids and a subarray view per copy would be garbage. */
export function copyIds(source: Uint32Array, from: number, target: Uint32Array, to: number, count: number): void {
  for (let k = 0; k < count; k++) target[to + k] = source[from + k];
}

/** Pieces per cache generation unless a tokenizer is given another size: the encoder's default, which the tokenize step uses. */
export const DEFAULT_CACHE_PIECES = 131072;

/** Words per slot in `Generation.slots`: hash, key length | id count << 8 (0: empty), key start, value. */
const SLOT_WORDS = 4;

class Generation {
  private size = 0;
  private charsUsed = 0;
  private idsUsed = 0;
  private readonly mask: number;
  /**
   * One slot per SLOT_WORDS consecutive words, so that a probe reads one cache line: the key's
   * hash; its length in code units (low byte; 0 marks an empty slot) and its id count (above it);
   * where the key starts in `chars`; the one id when the count is 1, else where the ids start in `ids`.
   */
  private readonly slots: Int32Array;
  private readonly chars: Uint16Array;
  readonly ids: Uint32Array;

  constructor(private readonly entries: number) {
    let slots = 16;
    while (slots < entries * 2) slots *= 2;
    this.mask = slots - 1;
    this.slots = new Int32Array(slots * SLOT_WORDS);
    this.chars = new Uint16Array(Math.max(entries * CHARS_PER_ENTRY, MAX_CACHED_PIECE));
    this.ids = new Uint32Array(Math.max(entries * IDS_PER_ENTRY, MAX_IDS_PER_PIECE));
  }

  /** The slot holding text[start, end), or -1. */
  find(text: string, start: number, end: number, hash: number): number {
    const length = end - start;
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const at = i * SLOT_WORDS;
      const meta = slots[at + 1];
      if (meta === 0) return -1;
      if ((meta & 0xff) === length && slots[at] === hash && this.sameChars(slots[at + 2], text, start, length)) return i;
    }
  }

  private sameChars(at: number, text: string, start: number, length: number): boolean {
    const chars = this.chars;
    for (let k = 0; k < length; k++) if (chars[at + k] !== text.charCodeAt(start + k)) return false;
    return true;
  }

  countAt(slot: number): number {
    return this.slots[slot * SLOT_WORDS + 1] >>> 8;
  }

  /** The one id of a slot whose count is 1, or where its ids start in `ids`. */
  valueAt(slot: number): number {
    return this.slots[slot * SLOT_WORDS + 3] >>> 0;
  }

  /** True when an entry of `length` code units and `count` ids fits in the pools and the slot table. */
  hasRoom(length: number, count: number): boolean {
    return this.size < this.entries && this.charsUsed + length <= this.chars.length && (count === 1 || this.idsUsed + count <= this.ids.length);
  }

  /** Stores text[start, end) → ids[from, from + count) and returns its slot; the caller checked hasRoom and that the key is not stored. */
  insert(text: string, start: number, end: number, hash: number, ids: Uint32Array, from: number, count: number): number {
    const slots = this.slots;
    let i = hash & this.mask;
    while (slots[i * SLOT_WORDS + 1] !== 0) i = (i + 1) & this.mask;
    const at = this.charsUsed;
    for (let k = start; k < end; k++) this.chars[at + k - start] = text.charCodeAt(k);
    this.charsUsed += end - start;
    const slot = i * SLOT_WORDS;
    slots[slot] = hash;
    slots[slot + 1] = (end - start) | (count << 8);
    slots[slot + 2] = at;
    if (count === 1) {
      slots[slot + 3] = ids[from];
    } else {
      // A value copied back from the cold generation into the one just emptied goes to offset 0,
      // at or before where it was: copyIds runs front to back.
      const to = this.idsUsed;
      copyIds(ids, from, this.ids, to, count);
      slots[slot + 3] = to;
      this.idsUsed += count;
    }
    this.size++;
    return i;
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
    this.charsUsed = 0;
    this.idsUsed = 0;
  }
}

export class PieceCache {
  private hot: Generation;
  private cold: Generation;
  /** After a `lookup` that found the piece: its slot in the hot generation (a cold hit is copied there). */
  private foundSlot = 0;
  private readonly one = new Uint32Array(1);

  constructor(entriesPerGeneration: number) {
    const entries = Math.max(1, Math.floor(entriesPerGeneration));
    this.hot = new Generation(entries);
    this.cold = new Generation(entries);
  }

  /** How many ids are cached for text[start, end) (whose hashRegion is `hash`): 0 when none are; then `copyFound` writes them. */
  lookup(text: string, start: number, end: number, hash: number): number {
    let slot = this.hot.find(text, start, end, hash);
    if (slot >= 0) {
      this.foundSlot = slot;
      return this.hot.countAt(slot);
    }
    const cold = this.cold;
    slot = cold.find(text, start, end, hash);
    if (slot < 0) return 0;
    const count = cold.countAt(slot);
    if (count === 1) {
      this.one[0] = cold.valueAt(slot);
      this.set(text, start, end, hash, this.one, 0, 1);
    } else {
      // When the hot generation is full, `set` empties this cold one and writes into it: its ids stay
      // in place until overwritten, and they are copied front to back to offset 0 (see Generation.insert).
      this.set(text, start, end, hash, cold.ids, cold.valueAt(slot), count);
    }
    return count;
  }

  /** Writes the ids of the piece the last successful `lookup` found into out[at...]; out must have room for them. */
  copyFound(out: Uint32Array, at: number): void {
    const gen = this.hot;
    const slot = this.foundSlot;
    const count = gen.countAt(slot);
    if (count === 1) {
      out[at] = gen.valueAt(slot);
    } else {
      copyIds(gen.ids, gen.valueAt(slot), out, at, count);
    }
  }

  /** Caches text[start, end) → ids[from, from + count) (a piece not in the hot generation); a piece longer than MAX_CACHED_PIECE units is not kept. */
  set(text: string, start: number, end: number, hash: number, ids: Uint32Array, from: number, count: number): void {
    if (end - start > MAX_CACHED_PIECE) return;
    if (!this.hot.hasRoom(end - start, count)) {
      const emptied = this.cold;
      emptied.clear();
      this.cold = this.hot;
      this.hot = emptied;
    }
    this.foundSlot = this.hot.insert(text, start, end, hash, ids, from, count);
  }
}
