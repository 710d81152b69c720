/**
 * kiln's byte-level BPE encoder, shared by every vocabulary (OpenAI ranks, Hugging Face files,
 * trained ones). Text is made well-formed (lone surrogates → U+FFFD), split by the pre-tokenization
 * regex, and each piece is looked up in a bounded two-generation cache of piece → ids; on a miss the
 * piece is looked up whole (when the vocabulary's rules allow it) and otherwise UTF-8 encoded and
 * merged pair by pair: the adjacent pair with the lowest merge rank goes first, leftmost on ties.
 * A piece stays a region of the text and its ids go through scratch arrays into the output, so
 * encoding allocates nothing per cache hit or per miss of a short piece (a long piece's heap merge
 * allocates its own arrays); the result is one array per call.
 * Pair ranks live in an open-addressing table keyed by the id pair; short pieces use an array scan,
 * long ones a linked list and a binary heap so that a huge piece stays O(n log n). Every table is a
 * flat typed array of a CompiledBpe (compile-bpe.ts), so a tokenizer can also be made from a
 * compiled vocabulary file without rebuilding anything.
 */
import { compileBpe, type BpeDefinition, type CompiledBpe } from "./compile-bpe.ts";
import { TokenizerFormatError } from "./errors.ts";
import { MergeHeap, NO_MERGE, type BytesIdTable, type PairTable } from "./merge-tables.ts";
import { copyIds, DEFAULT_CACHE_PIECES, hashRegion, PieceCache } from "./piece-cache.ts";
import type { Tokenizer } from "./types.ts";

export type { BpeDefinition } from "./compile-bpe.ts";

const LONG_PIECE = 48;
/** Rank of a pair without a merge rule: above every real rank. */
const UNRANKED = 0x7fffffff;
/** Positions share a double with the rank in the heap key: rank * 2^27 + position. */
const MAX_PIECE_BYTES = 2 ** 27;

const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** Placeholders the constructor replaces at once (see the fields of ByteLevelBpeTokenizer). */
const EMPTY_IDS = new Uint32Array(0);
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_INTS = new Int32Array(0);

export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly eosId?: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  /** The tables this tokenizer encodes with (saved and reloaded by vocabulary-cache.ts). */
  readonly compiled: CompiledBpe;

  private readonly byteToId: Uint32Array;
  private readonly pairs: PairTable;
  private readonly mergeResult: Uint32Array;
  private readonly mergeRank: Uint32Array;
  private readonly wholeTokens: BytesIdTable;
  private readonly wholePieceLookup: boolean;
  private readonly tokenOffsets: Uint32Array;
  private readonly tokenBlob: Uint8Array;
  private readonly pattern: RegExp;
  private readonly stickyPattern: RegExp;
  private readonly cache: PieceCache;
  // The output and scratch arrays are replaced by larger ones when a document or a piece needs more
  // room. Each is stored twice in the constructor: V8 treats a field written only once as a
  // constant that optimized code may embed, and the first replacement would then throw away the
  // encoder's optimized code (all of its hot functions, compiled again).
  private out = EMPTY_IDS;
  private byteScratch = EMPTY_BYTES;
  private idScratch = EMPTY_IDS;
  private pairScratch = EMPTY_INTS;
  private rankScratch = EMPTY_INTS;

  /** From a definition (checked and compiled here) or from compiled tables; `cacheSize` is the pieces per cache generation (default DEFAULT_CACHE_PIECES, 131072). */
  constructor(def: BpeDefinition | CompiledBpe, cacheSize?: number) {
    const c = "tokenBlob" in def ? def : compileBpe(def);
    this.compiled = c;
    this.name = c.name;
    this.vocabSize = c.vocabSize;
    this.eosId = c.eosId;
    this.specialTokens = Object.freeze({ ...c.specialTokens });
    this.pattern = new RegExp(c.pattern.source, c.pattern.flags + "g");
    this.stickyPattern = new RegExp(c.pattern.source, c.pattern.flags + "y");
    this.wholePieceLookup = c.wholePieceLookup;
    this.cache = new PieceCache(cacheSize ?? ("tokenBlob" in def ? undefined : def.cacheSize) ?? DEFAULT_CACHE_PIECES);
    this.byteToId = c.byteToId;
    this.pairs = c.pairs;
    this.mergeResult = c.mergeResult;
    this.mergeRank = c.mergeRank;
    this.wholeTokens = c.wholeTokens;
    this.tokenOffsets = c.tokenOffsets;
    this.tokenBlob = c.tokenBlob;
    this.out = new Uint32Array(4096);
    this.sizeScratch(1024);
  }

  encode(text: string, endId?: number): Uint32Array {
    this.encodeInto(text);
    if (endId !== undefined) this.push(endId);
    return this.out.slice(0, this.outLength);
  }

  encodeBatch(texts: readonly string[]): Uint32Array[] {
    return texts.map((t) => this.encode(t));
  }

  decode(ids: ArrayLike<number>): string {
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytesOf(ids[i]);
      if (bytes === undefined) {
        throw new TokenizerFormatError(this.name, `id ${ids[i]} at position ${i} is not in the vocabulary`, `ids run from 0 to ${this.vocabSize - 1}`);
      }
      total += bytes.length;
    }
    const buf = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      buf.set(this.tokenBlob.subarray(this.tokenOffsets[id], this.tokenOffsets[id + 1]), at);
      at += this.tokenOffsets[id + 1] - this.tokenOffsets[id];
    }
    return utf8Decoder.decode(buf);
  }

  /** Bytes of one id (mergeable or special), for inspection and tests. */
  bytesOf(id: number): Uint8Array | undefined {
    if (!(id >= 0 && id < this.vocabSize && Number.isInteger(id))) return undefined;
    const from = this.tokenOffsets[id];
    const to = this.tokenOffsets[id + 1];
    return to > from ? this.tokenBlob.subarray(from, to) : undefined;
  }

  private outLength = 0;

  private encodeInto(input: string): void {
    const text = makeWellFormed(input);
    this.outLength = 0;
    const sticky = this.stickyPattern;
    const end = text.length;
    let pos = 0;
    while (pos < end) {
      sticky.lastIndex = pos;
      let stop: number;
      if (sticky.test(text) && sticky.lastIndex > pos) {
        stop = sticky.lastIndex;
      } else {
        // Text the pattern does not match here stays a piece of its own (Hugging Face "Isolated" split).
        const search = this.pattern;
        search.lastIndex = pos;
        let found = search.exec(text);
        while (found !== null && found[0].length === 0) {
          search.lastIndex = found.index + 1;
          found = search.exec(text);
        }
        stop = found === null ? end : found.index;
      }
      const hash = hashRegion(text, pos, stop);
      const cached = this.cache.lookup(text, pos, stop, hash);
      if (cached > 0) {
        this.reserve(cached);
        this.cache.copyFound(this.out, this.outLength);
        this.outLength += cached;
      } else {
        const count = this.encodePiece(text, pos, stop);
        this.cache.set(text, pos, stop, hash, this.idScratch, 0, count);
        this.reserve(count);
        copyIds(this.idScratch, 0, this.out, this.outLength, count);
        this.outLength += count;
      }
      pos = stop;
    }
  }

  private push(id: number): void {
    this.reserve(1);
    this.out[this.outLength++] = id;
  }

  /** Makes room for `extra` more ids in the output. */
  private reserve(extra: number): void {
    if (this.outLength + extra > this.out.length) this.grow(extra);
  }

  private grow(extra: number): void {
    const next = new Uint32Array(Math.max(this.out.length * 2, this.outLength + extra));
    next.set(this.out.subarray(0, this.outLength));
    this.out = next;
  }

  /** Encodes the piece text[start, end) into idScratch; returns how many ids it has. */
  private encodePiece(text: string, start: number, end: number): number {
    const n = this.utf8Into(text, start, end);
    if (n >= MAX_PIECE_BYTES) {
      throw new TokenizerFormatError(this.name, `a single pre-token of ${n} bytes is too long to encode`, "split the text into smaller documents");
    }
    if (n === 1) {
      this.idScratch[0] = this.byteToId[this.byteScratch[0]];
      return 1;
    }
    if (this.wholePieceLookup) {
      const id = this.wholeTokens.find(this.byteScratch, 0, n);
      if (id >= 0) {
        this.idScratch[0] = id;
        return 1;
      }
    }
    return n > LONG_PIECE ? this.mergeLong(n) : this.mergeShort(n);
  }

  private pairOf(left: number, right: number): number {
    return this.pairs.get(left, right);
  }

  /** Array scan: find the lowest-rank pair, merge it, update its two neighbours; the ids stay in idScratch, their count is returned. */
  private mergeShort(n: number): number {
    const ids = this.idScratch;
    const pairs = this.pairScratch;
    const ranks = this.rankScratch;
    const bytes = this.byteScratch;
    for (let i = 0; i < n; i++) ids[i] = this.byteToId[bytes[i]];
    for (let i = 0; i + 1 < n; i++) this.scorePair(i, ids[i], ids[i + 1]);
    while (n > 1) {
      let best = 0;
      let bestRank = ranks[0];
      for (let i = 1; i + 1 < n; i++) {
        if (ranks[i] < bestRank) {
          bestRank = ranks[i];
          best = i;
        }
      }
      if (bestRank === UNRANKED) break;
      ids[best] = this.mergeResult[pairs[best]];
      // Plain loops: on pieces this short they beat copyWithin's call overhead.
      for (let i = best + 1; i + 1 < n; i++) ids[i] = ids[i + 1];
      for (let i = best + 1; i + 2 < n; i++) {
        pairs[i] = pairs[i + 1];
        ranks[i] = ranks[i + 1];
      }
      n--;
      if (best > 0) this.scorePair(best - 1, ids[best - 1], ids[best]);
      if (best + 1 < n) this.scorePair(best, ids[best], ids[best + 1]);
    }
    return n;
  }

  private scorePair(slot: number, left: number, right: number): void {
    const m = this.pairs.get(left, right);
    this.pairScratch[slot] = m;
    this.rankScratch[slot] = m === NO_MERGE ? UNRANKED : this.mergeRank[m];
  }

  /** Linked list plus a min-heap of (rank, position) with lazy invalidation through versions; the ids end in idScratch, their count is returned. */
  private mergeLong(n: number): number {
    const bytes = this.byteScratch;
    const ids = new Uint32Array(n);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const version = new Uint32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      ids[i] = this.byteToId[bytes[i]];
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MergeHeap(n);
    const offer = (pos: number): void => {
      const right = next[pos];
      if (right < 0) return;
      const m = this.pairOf(ids[pos], ids[right]);
      if (m !== NO_MERGE) heap.push(this.mergeRank[m] * MAX_PIECE_BYTES + pos, m, version[pos]);
    };
    for (let i = 0; i + 1 < n; i++) offer(i);
    while (heap.size > 0) {
      const { key, merge, ver } = heap.pop();
      const pos = key % MAX_PIECE_BYTES;
      if (!alive[pos] || version[pos] !== ver) continue;
      const right = next[pos];
      ids[pos] = this.mergeResult[merge];
      alive[right] = 0;
      next[pos] = next[right];
      if (next[right] >= 0) prev[next[right]] = pos;
      version[pos]++;
      offer(pos);
      const before = prev[pos];
      if (before >= 0) {
        version[before]++;
        offer(before);
      }
    }
    const result = this.idScratch;
    let count = 0;
    for (let i = 0; i >= 0; i = next[i]) result[count++] = ids[i];
    return count;
  }

  /** Replaces the per-piece scratch arrays with arrays of `size` elements. */
  private sizeScratch(size: number): void {
    this.byteScratch = new Uint8Array(size);
    this.idScratch = new Uint32Array(size);
    this.pairScratch = new Int32Array(size);
    this.rankScratch = new Int32Array(size);
  }

  /** UTF-8 encodes the well-formed piece text[start, end) into `byteScratch`; returns the byte count. */
  private utf8Into(text: string, start: number, end: number): number {
    if ((end - start) * 3 > this.byteScratch.length) this.sizeScratch((end - start) * 3 + 16);
    const out = this.byteScratch;
    let n = 0;
    for (let i = start; i < end; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        out[n++] = c;
      } else if (c < 0x800) {
        out[n++] = 0xc0 | (c >> 6);
        out[n++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < end && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c < 0xe000) {
        // Half of a pair that a pattern without the `u` flag split across pieces: U+FFFD, read
        // from this piece alone (its cached ids must not depend on the text after it).
        out[n++] = 0xef;
        out[n++] = 0xbf;
        out[n++] = 0xbd;
      } else {
        out[n++] = 0xe0 | (c >> 12);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
      }
    }
    return n;
  }
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The string of `bytes` when they are valid UTF-8, else undefined. */
export function decodeIfValidUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** Replaces lone surrogates by U+FFFD, as a UTF-8 encoder would. */
export function makeWellFormed(text: string): string {
  const s = text as unknown as WellFormedString;
  return s.isWellFormed() ? text : s.toWellFormed();
}
