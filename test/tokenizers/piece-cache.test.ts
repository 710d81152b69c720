// The encoder's piece cache on its own: every lookup returns exactly the ids stored for that piece,
// across generation turnovers caused by the entry count, by the key-character pool and by the id
// pool, for keys whose hashes collide, and when a piece found in the cold generation is copied back
// while the hot one is full. Last, an encoder whose pattern splits surrogate pairs: a piece's ids
// come from that piece alone, whatever the cache holds.
import { describe, expect, it } from "vitest";
import { ByteLevelBpeTokenizer } from "../../src/tokenizers/bpe.ts";
import { loadOpenAiTokenizer } from "../../src/tokenizers/index.ts";
import { MAX_CACHED_PIECE, PieceCache, hashRegion } from "../../src/tokenizers/piece-cache.ts";

function lookupIds(cache: PieceCache, text: string, start = 0, end = text.length): number[] | undefined {
  const count = cache.lookup(text, start, end, hashRegion(text, start, end));
  if (count === 0) return undefined;
  const out = new Uint32Array(count + 2).fill(0xffffffff);
  cache.copyFound(out, 1);
  expect(out[0]).toBe(0xffffffff);
  expect(out[count + 1]).toBe(0xffffffff);
  return [...out.subarray(1, count + 1)];
}

function store(cache: PieceCache, text: string, ids: number[]): void {
  cache.set(text, 0, text.length, hashRegion(text, 0, text.length), Uint32Array.from(ids), 0, ids.length);
}

describe("piece cache", () => {
  it("returns the stored ids of single- and multi-id pieces, found by region of a longer text", () => {
    const cache = new PieceCache(16);
    store(cache, " hello", [15339]);
    store(cache, "wörld", [86, 9603, 509]);
    const text = "say hello to the wörld";
    expect(lookupIds(cache, text, 3, 9)).toEqual([15339]);
    expect(lookupIds(cache, text, 17, 22)).toEqual([86, 9603, 509]);
    expect(lookupIds(cache, text, 3, 8)).toBeUndefined();
    expect(lookupIds(cache, "hello")).toBeUndefined();
  });

  it("keeps every lookup exact while pieces of every length turn both generations over", () => {
    // 4 entries per generation: the key pool (128 units) and the id pool (384 ids) fill before
    // the entry count when pieces are long or have many ids.
    const cache = new PieceCache(4);
    const expected = new Map<string, number[]>();
    let seed = 7;
    const rand = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const pieces: string[] = [];
    for (let i = 0; i < 400; i++) {
      const length = 1 + rand(i % 3 === 0 ? MAX_CACHED_PIECE + 8 : 12);
      pieces.push(Array.from({ length }, () => String.fromCharCode(97 + rand(3))).join("") + i);
    }
    let hits = 0;
    for (let step = 0; step < 4000; step++) {
      const piece = pieces[step % 7 === 0 ? rand(pieces.length) : rand(12)];
      const found = lookupIds(cache, piece);
      if (found !== undefined) {
        hits++;
        expect(piece.length).toBeLessThanOrEqual(MAX_CACHED_PIECE);
        expect(found, piece).toEqual(expected.get(piece));
      } else {
        const ids = expected.get(piece) ?? Array.from({ length: 1 + rand(piece.length % 4 === 0 ? 300 : 4) }, () => rand(100_000));
        expected.set(piece, ids);
        store(cache, piece, ids);
        // What was just stored is found at once, whatever generation turnover it caused; a piece too long to keep is not.
        expect(lookupIds(cache, piece), piece).toEqual(piece.length <= MAX_CACHED_PIECE ? ids : undefined);
      }
    }
    expect(hits).toBeGreaterThan(500);
  });

  it("tells keys with the same hash and length apart by their characters", () => {
    const cache = new PieceCache(4);
    const put = (key: string, ids: number[]) => cache.set(key, 0, key.length, 7, Uint32Array.from(ids), 0, ids.length);
    const get = (key: string) => {
      const count = cache.lookup(key, 0, key.length, 7);
      if (count === 0) return undefined;
      const out = new Uint32Array(count);
      cache.copyFound(out, 0);
      return [...out];
    };
    put("ab", [1]);
    put("ba", [2, 3]);
    put("abc", [4]);
    expect(get("ab")).toEqual([1]);
    expect(get("ba")).toEqual([2, 3]);
    expect(get("abc")).toEqual([4]);
    expect(get("aa")).toBeUndefined();
    expect(get("ax")).toBeUndefined();
  });

  it("copies a cold piece back while the hot generation is full, its ids overlapping where they go", () => {
    const cache = new PieceCache(2);
    store(cache, "a", [1, 2]); // ids 0..2 of generation A
    store(cache, "b", [3, 4, 5]); // ids 2..5 of generation A, which is now full
    store(cache, "c", [6, 7]); // A turns cold; generation B takes c
    store(cache, "d", [8]); // B full
    // b is in cold A: copying it back empties A and writes b's ids to 0..3 of A, over where they were.
    expect(lookupIds(cache, "b")).toEqual([3, 4, 5]);
    expect(lookupIds(cache, "b")).toEqual([3, 4, 5]);
    expect(lookupIds(cache, "a")).toBeUndefined();
    expect(lookupIds(cache, "c")).toEqual([6, 7]);
    expect(lookupIds(cache, "d")).toEqual([8]);
  });

  it("encodes each half of a pair split by a pattern without the u flag as U+FFFD, from that piece alone", async () => {
    const cl100k = await loadOpenAiTokenizer("cl100k_base");
    const perUnit = () => new ByteLevelBpeTokenizer({ ...cl100k.compiled, pattern: /[^]/ });
    const replacement = perUnit().encode("\uFFFD\uFFFD");
    expect(perUnit().encode("\uD83D\uDE01")).toEqual(replacement);
    const warm = perUnit();
    warm.encode("\uD83D\uDE00");
    expect(warm.encode("\uD83D\uDE01")).toEqual(replacement);
  });
});
