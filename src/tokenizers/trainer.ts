/**
 * Trains a byte-level BPE vocabulary and writes it as a Hugging Face tokenizer.json that kiln's
 * loader (and the `tokenizers` library) reads. Text is split with a GPT-style pattern (cl100k by
 * default); the 256 byte tokens get ids 0-255, merges get the next ids in the order learned, and
 * special tokens come last. Each round merges the most frequent adjacent pair; ties go to the
 * smaller (left id, right id), so the same input always gives the same file byte for byte. Pair
 * counts are updated incrementally from the words that contain the merged pair, and the next pair
 * comes from a max-heap whose stale entries (count since changed) are skipped.
 */
import { bytesToByteLevel } from "./bytelevel.ts";
import { makeWellFormed } from "./bpe.ts";
import { TokenizerTrainingError } from "./errors.ts";
import { compilePattern, SOURCE_PATTERNS } from "./pretokenize.ts";

export interface BpeTrainingOptions {
  /** Total ids wanted: 256 bytes + merges + special tokens. */
  vocabSize: number;
  /** Special tokens, given ids after the merges in this order. Default: ["<|endoftext|>"]. */
  specialTokens?: readonly string[];
  /** Pre-tokenization pattern. Default: cl100k. */
  pattern?: "cl100k" | "o200k" | "gpt2";
  /** Pairs seen fewer times than this are never merged. Default 2. */
  minFrequency?: number;
}

interface Word {
  ids: number[];
  count: number;
}

/** Learns merges from `texts` and returns the tokenizer.json content as an object. */
export function trainBpeTokenizer(texts: Iterable<string>, options: BpeTrainingOptions): Record<string, unknown> {
  const specials = [...(options.specialTokens ?? ["<|endoftext|>"])];
  const minFrequency = options.minFrequency ?? 2;
  const patternName = options.pattern ?? "cl100k";
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < 256 + specials.length) {
    throw new TokenizerTrainingError(
      `vocabSize ${options.vocabSize} is too small`,
      `ask for at least ${256 + specials.length} ids (256 bytes + ${specials.length} special tokens)`,
    );
  }
  if (options.vocabSize > 2 ** 24) {
    throw new TokenizerTrainingError(`vocabSize ${options.vocabSize} is too large to train`, "ask for at most 16,777,216 ids");
  }
  if (new Set(specials).size !== specials.length) {
    throw new TokenizerTrainingError("special tokens are listed more than once", "list each special token once");
  }
  const sourcePattern = SOURCE_PATTERNS[patternName];
  const regex = compilePattern(sourcePattern, `pattern ${patternName}`);

  const words = countWords(texts, regex);
  const tokenBytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
  const idOfText = new Map<string, number>(tokenBytes.map((bytes, id) => [bytesToByteLevel(bytes), id]));
  const merges: [string, string][] = [];
  const mergeBudget = options.vocabSize - specials.length;

  const stride = 2 ** 24;
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const changed = new Set<number>();
  const addPairs = (w: number, sign: 1 | -1): void => {
    const { ids, count } = words[w];
    for (let i = 0; i + 1 < ids.length; i++) {
      const key = ids[i] * stride + ids[i + 1];
      changed.add(key);
      const next = (pairCounts.get(key) ?? 0) + sign * count;
      if (next === 0) pairCounts.delete(key);
      else pairCounts.set(key, next);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  const queue = new PairQueue();
  const enqueueChanged = (): void => {
    for (const key of changed) {
      const count = pairCounts.get(key);
      if (count !== undefined) queue.push(count, key);
    }
    changed.clear();
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);
  enqueueChanged();

  while (tokenBytes.length < mergeBudget) {
    let bestKey = -1;
    let bestCount = 0;
    while (queue.size > 0) {
      const top = queue.pop();
      if (pairCounts.get(top.key) === top.count) {
        bestKey = top.key;
        bestCount = top.count;
        break;
      }
    }
    if (bestKey < 0 || bestCount < minFrequency) break;
    const left = Math.floor(bestKey / stride);
    const right = bestKey % stride;
    const leftText = bytesToByteLevel(tokenBytes[left]);
    const rightText = bytesToByteLevel(tokenBytes[right]);
    let merged = idOfText.get(leftText + rightText);
    if (merged === undefined) {
      merged = tokenBytes.length;
      const bytes = new Uint8Array(tokenBytes[left].length + tokenBytes[right].length);
      bytes.set(tokenBytes[left]);
      bytes.set(tokenBytes[right], tokenBytes[left].length);
      tokenBytes.push(bytes);
      idOfText.set(leftText + rightText, merged);
    }
    merges.push([leftText, rightText]);
    for (const w of [...(pairWords.get(bestKey) ?? [])]) {
      addPairs(w, -1);
      words[w].ids = mergeInWord(words[w].ids, left, right, merged);
      addPairs(w, 1);
    }
    pairWords.delete(bestKey);
    pairCounts.delete(bestKey);
    enqueueChanged();
  }

  const vocab: Record<string, number> = {};
  tokenBytes.forEach((bytes, id) => (vocab[bytesToByteLevel(bytes)] = id));
  const addedTokens = specials.map((content, i) => ({
    id: tokenBytes.length + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: sourcePattern }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Distinct pre-tokens with their counts, in first-seen order, as byte ids. */
function countWords(texts: Iterable<string>, regex: RegExp): Word[] {
  const counts = new Map<string, number>();
  for (const raw of texts) {
    const text = makeWellFormed(raw);
    for (const [piece] of text.matchAll(regex)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  const encoder = new TextEncoder();
  return [...counts].map(([piece, count]) => ({ ids: Array.from(encoder.encode(piece)), count }));
}

/** Replaces each non-overlapping (left, right), scanning left to right, by `merged`. */
function mergeInWord(ids: number[], left: number, right: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === left && ids[i + 1] === right) {
      out.push(merged);
      i++;
    } else {
      out.push(ids[i]);
    }
  }
  return out;
}

/** Max-heap of (count, pair key): higher count first, then smaller key. */
class PairQueue {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.counts.length;
  }
  private before(a: number, b: number): boolean {
    return this.counts[a] > this.counts[b] || (this.counts[a] === this.counts[b] && this.keys[a] < this.keys[b]);
  }
  private swap(a: number, b: number): void {
    [this.counts[a], this.counts[b]] = [this.counts[b], this.counts[a]];
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): { count: number; key: number } {
    const top = { count: this.counts[0], key: this.keys[0] };
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ; ) {
      let best = i;
      for (const child of [2 * i + 1, 2 * i + 2]) if (child < last && this.before(child, best)) best = child;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}
