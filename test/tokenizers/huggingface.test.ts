// Loading Hugging Face tokenizer.json files: a small hand-made byte-level BPE (both merge spellings),
// and the files kiln refuses with a typed error (other model types, ids above 2^32, non-byte-level).
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadHuggingFaceTokenizer,
  tokenizerFromHuggingFaceJson,
  TokenizerFormatError,
  UnsupportedTokenizerModelError,
  VocabularyTooLargeError,
} from "../../src/tokenizers/index.ts";
import { bytesToByteLevel } from "../../src/tokenizers/bytelevel.ts";

/** 256 byte tokens in byte order, then the merges' results, then <|endoftext|>. */
function handMadeTokenizer(mergeStyle: "string" | "array", extra: Record<string, unknown> = {}) {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[bytesToByteLevel(Uint8Array.of(b))] = b;
  const merges = [
    ["h", "e"],
    ["Ġ", "t"],
    ["Ġt", "he"],
    ["l", "l"],
  ];
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  return {
    version: "1.0",
    added_tokens: [{ id: 260, content: "<|endoftext|>", special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: "ByteLevel" },
    model: {
      type: "BPE",
      vocab,
      merges: mergeStyle === "string" ? merges.map((m) => m.join(" ")) : merges,
      ...extra,
    },
  };
}

describe("Hugging Face tokenizer.json", () => {
  for (const style of ["string", "array"] as const) {
    it(`loads a hand-made byte-level BPE with merges as ${style}s`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "kiln-hf-"));
      const path = join(dir, "tokenizer.json");
      writeFileSync(path, JSON.stringify(handMadeTokenizer(style)));
      const tok = await loadHuggingFaceTokenizer(path);
      // ids by construction: "he"=256, "Ġt"=257, "Ġthe"=258, "ll"=259, "<|endoftext|>"=260
      expect(Array.from(tok.encode(" the"))).toEqual([258]);
      expect(Array.from(tok.encode("hello"))).toEqual([256, 259, "o".charCodeAt(0)]);
      expect(Array.from(tok.encode("hello", 260))).toEqual([256, 259, "o".charCodeAt(0), 260]);
      expect(Array.from(tok.encode("he the"))).toEqual([256, 258]);
      expect(tok.vocabSize).toBe(261);
      expect(tok.eosId).toBe(260);
      expect(tok.specialTokens).toEqual({ "<|endoftext|>": 260 });
      expect(Array.from(tok.encode("<|endoftext|>"))).not.toContain(260);
      for (const text of ["hello the world", "ünïcödé 😀 \uFEFF", "<|endoftext|>"]) expect(tok.decode(tok.encode(text))).toBe(text);
      expect(tok.decode([258, 260])).toBe(" the<|endoftext|>");
    });
  }

  it("puts the prefix space before text that lacks one, end id included", () => {
    const json = { ...handMadeTokenizer("string"), pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true } };
    const tok = tokenizerFromHuggingFaceJson(json, "prefix.json");
    expect(Array.from(tok.encode("the"))).toEqual([258]);
    expect(Array.from(tok.encode("the", 260))).toEqual([258, 260]);
    expect(Array.from(tok.encode(" the", 260))).toEqual([258, 260]);
  });

  it("applies merges by rank, not by token id", () => {
    const json = handMadeTokenizer("array");
    // "ll" merge first: in "hell", l+l would win over h+e only if ranked first.
    json.model.merges = [["l", "l"], ["h", "e"], ["Ġ", "t"], ["Ġt", "he"]];
    const tok = tokenizerFromHuggingFaceJson(json, "reordered.json");
    expect(Array.from(tok.encode("hell"))).toEqual([256, 259]);
    expect(Array.from(tok.encode("elll"))).toEqual(["e".charCodeAt(0), 259, "l".charCodeAt(0)]);
  });

  for (const type of ["WordPiece", "Unigram", "WordLevel"]) {
    it(`refuses model type ${type} with a typed error naming it`, () => {
      const json = handMadeTokenizer("array");
      (json.model as Record<string, unknown>).type = type;
      const attempt = () => tokenizerFromHuggingFaceJson(json, "other.json");
      expect(attempt).toThrow(UnsupportedTokenizerModelError);
      expect(attempt).toThrow(new RegExp(`other\\.json.*"${type}"`));
    });
  }

  it("refuses a vocabulary with ids at or above 2^32", () => {
    const json = handMadeTokenizer("array");
    json.model.vocab["huge"] = 2 ** 32;
    expect(() => tokenizerFromHuggingFaceJson(json, "huge.json")).toThrow(VocabularyTooLargeError);
    const added = handMadeTokenizer("array");
    added.added_tokens.push({ id: 2 ** 33, content: "<big>", special: true });
    expect(() => tokenizerFromHuggingFaceJson(added, "added.json")).toThrow(VocabularyTooLargeError);
  });

  it("refuses tokens outside the byte-level alphabet, merges of unknown tokens, and byte fallback", () => {
    const notByteLevel = handMadeTokenizer("array");
    notByteLevel.model.vocab["▁word"] = 300;
    expect(() => tokenizerFromHuggingFaceJson(notByteLevel, "spm.json")).toThrow(/spm\.json: model\.vocab\["▁word"\]/);
    const badMerge = handMadeTokenizer("string");
    (badMerge.model.merges as string[]).push("zz q");
    expect(() => tokenizerFromHuggingFaceJson(badMerge, "bad.json")).toThrow(/model\.merges\[4\]/);
    const fallback = handMadeTokenizer("array", { byte_fallback: true });
    expect(() => tokenizerFromHuggingFaceJson(fallback, "fb.json")).toThrow(TokenizerFormatError);
    const wrongDecoder = { ...handMadeTokenizer("array"), decoder: { type: "Metaspace" } };
    expect(() => tokenizerFromHuggingFaceJson(wrongDecoder, "dec.json")).toThrow(/decoder/);
  });

  it("reports a file that is not JSON by name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kiln-hf-"));
    const path = join(dir, "broken.json");
    writeFileSync(path, "{ not json");
    await expect(loadHuggingFaceTokenizer(path)).rejects.toThrow(/broken\.json: is not valid JSON/);
  });

  it("reads a Split regex pre-tokenizer written for Rust, and names a pattern JavaScript cannot run", () => {
    const splitDigits = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
    const sequence = (pattern: string) => ({
      ...handMadeTokenizer("array"),
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
          { type: "ByteLevel", add_prefix_space: false, use_regex: false },
        ],
      },
    });
    // add a merge "1"+"2" so that splitting digits one by one is visible
    const json = sequence(splitDigits);
    json.model.vocab["12"] = 261;
    (json.model.merges as string[][]).push(["1", "2"]);
    json.added_tokens = [];
    const tok = tokenizerFromHuggingFaceJson(json, "qwen-like.json");
    expect(Array.from(tok.encode("12"))).toEqual([49, 50]);
    expect(Array.from(tok.encode("He'S"))).toEqual([72, 101, 39, 83]);
    expect(tok.decode(tok.encode("x 12\uFEFF he's"))).toBe("x 12\uFEFF he's");
    const ungrouped = sequence(String.raw`\p{N}+`);
    ungrouped.model.vocab["12"] = 261;
    (ungrouped.model.merges as string[][]).push(["1", "2"]);
    // text between matches stays a piece of its own (Isolated), so nothing is dropped
    const isolated = tokenizerFromHuggingFaceJson(ungrouped, "digits.json");
    expect(isolated.decode(isolated.encode("ab12cd"))).toBe("ab12cd");
    expect(Array.from(isolated.encode("12"))).toEqual([261]);
    expect(() => tokenizerFromHuggingFaceJson(sequence("a++(?<"), "broken.json")).toThrow(/broken\.json pre_tokenizer: pre-tokenizer pattern/);
  });
});
