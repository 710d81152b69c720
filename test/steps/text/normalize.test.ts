/**
 * Normalization against hand-counted fixtures: whitespace runs capped at 128 (and counted once per
 * run), blank documents in many Unicode spellings dropped and counted, invalid UTF-8 replaced and
 * counted per maximal invalid subpart, NFC applied (and NFKC not), line endings unified, and the
 * document id checked against the published xxh3-128 value of the empty input.
 */
import { describe, expect, it } from "vitest";
import { decodeUtf8Counting, documentId, normalizeText, TEXT_COUNTERS } from "../../../src/steps/text/index.ts";
import { hasWhitespaceRunOver } from "../../../src/steps/text/normalize.ts";

function tally() {
  const counts: Record<string, number> = {};
  return { counts, increment: (name: string, by = 1) => void (counts[name] = (counts[name] ?? 0) + by) };
}

describe("normalizeText", () => {
  it("caps whitespace runs longer than 128 characters at 128 and counts each capped run", () => {
    const c = tally();
    // Runs: 200 spaces (capped), 129 newlines (capped), exactly 128 tabs (kept), 100 x " \u00a0" = 200 (capped).
    const input = `a${" ".repeat(200)}b${"\n".repeat(129)}c${"\t".repeat(128)}d${" \u00a0".repeat(100)}e`;
    const out = normalizeText(input, c)!;
    expect(c.counts[TEXT_COUNTERS.whitespaceRunsCapped]).toBe(3);
    expect(out).toBe(`a${" ".repeat(128)}b${"\n".repeat(128)}c${"\t".repeat(128)}d${" \u00a0".repeat(64)}e`);
    expect(out.length).toBe(5 + 4 * 128);
  });

  it("finds a run over the limit exactly where \\s{max+1,} does, probing one position in max + 1", () => {
    // Every character \s matches, and look-alikes it does not (zero-width space, Mongolian vowel separator, NEL).
    const spaces = [..."\t\n\v\f\r \u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"];
    const others = [..."ab\u200b\u180e\u0085\u00e9"];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (const max of [1, 3, 8, 128]) {
      for (let trial = 0; trial < 400; trial++) {
        let text = "";
        while (text.length < 3 * max + rand(4 * max)) {
          const run = rand(3) === 0 ? max + rand(3) - 1 : rand(max);
          text += rand(2) ? Array.from({ length: run }, () => spaces[rand(spaces.length)]).join("") : others[rand(others.length)].repeat(1 + rand(3));
        }
        expect(hasWhitespaceRunOver(text, max), JSON.stringify({ max, text })).toBe(new RegExp(`\\s{${max + 1},}`).test(text));
      }
    }
    expect(hasWhitespaceRunOver(" ".repeat(129), 128)).toBe(true);
    expect(hasWhitespaceRunOver(" ".repeat(128), 128)).toBe(false);
    expect(hasWhitespaceRunOver("x" + "\u3000".repeat(129), 128)).toBe(true);
  });

  it("counts runs after line endings are unified, so 100 CRLFs are a run of 100", () => {
    const c = tally();
    const out = normalizeText(`x${"\r\n".repeat(100)}y\rz`, c);
    expect(out).toBe(`x${"\n".repeat(100)}y\nz`);
    expect(c.counts[TEXT_COUNTERS.whitespaceRunsCapped]).toBeUndefined();
  });

  it("drops empty and whitespace-only documents, including NBSP and other Unicode spaces", () => {
    const c = tally();
    const blank = ["", " \n\t ", "\u00a0\u00a0", "\u2003 \u3000\u202f", "\u200b\u2060", "\ufeff"];
    for (const doc of blank) expect(normalizeText(doc, c)).toBeNull();
    expect(c.counts[TEXT_COUNTERS.emptyDropped]).toBe(6);
    expect(normalizeText("\u00a0x\u00a0", c)).toBe("\u00a0x\u00a0");
    expect(c.counts[TEXT_COUNTERS.emptyDropped]).toBe(6);
  });

  it("applies NFC, not NFKC", () => {
    expect(normalizeText("cafe\u0301")).toBe("caf\u00e9");
    expect(normalizeText("\ufb01ne \u2460")).toBe("\ufb01ne \u2460"); // ligature and circled digit stay
    expect(documentId(normalizeText("cafe\u0301")!)).toBe(documentId(normalizeText("caf\u00e9")!));
  });
});

describe("decodeUtf8Counting", () => {
  it("replaces each maximal invalid subpart with U+FFFD and counts them", () => {
    const bytes = Buffer.from([
      0x61, 0xff, // 'a', lone 0xFF: 1
      0x62, 0xc3, 0x28, // 'b', C3 without continuation: 1, then '('
      0xe2, 0x82, 0x41, // E2 82 truncated: 1, then 'A'
      0xef, 0xbf, 0xbd, // a real, validly encoded U+FFFD: 0
      0xed, 0xa0, 0x80, // encoded surrogate: ED, A0, 80 each invalid: 3
      0xf0, 0x9f, 0x98, // truncated 4-byte sequence at the end: 1
    ]);
    const c = tally();
    const { text, replaced } = decodeUtf8Counting(bytes, c);
    expect(replaced).toBe(7);
    expect(c.counts[TEXT_COUNTERS.invalidUtf8Replaced]).toBe(7);
    const R = "\ufffd";
    expect(text).toBe(`a${R}b${R}(${R}A${R}${R}${R}${R}${R}`);
  });

  it("counts nothing for valid UTF-8 and keeps a byte order mark", () => {
    const c = tally();
    const { text, replaced } = decodeUtf8Counting(Buffer.from("\ufeffh\u00e9llo \ufffd \u{1f600}", "utf8"), c);
    expect(replaced).toBe(0);
    expect(text).toBe("\ufeffh\u00e9llo \ufffd \u{1f600}");
    expect(c.counts).toEqual({});
  });
});

describe("documentId", () => {
  it("is the xxh3-128 of the UTF-8 bytes as 32 hex digits", () => {
    expect(documentId("")).toBe("99aa06d3014798d86001c324468d497f"); // published XXH3_128bits("") value
    const id = documentId("hello world");
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).not.toBe(documentId("hello world!"));
    expect(documentId("hello world")).toBe(id);
  });
});
