// The raw-bytes tokenizer: UTF-8 bytes as ids, special tokens after 255, exact round trips.
import { describe, expect, it } from "vitest";
import { ByteTokenizer, loadTokenizer, TokenizerFormatError } from "../../src/tokenizers/index.ts";

describe("ByteTokenizer", () => {
  it("maps text to its UTF-8 bytes and back", () => {
    const tok = new ByteTokenizer();
    const text = "héllo 😀 中 \uFEFF e\u0301";
    expect(Array.from(tok.encode(text))).toEqual(Array.from(Buffer.from(text, "utf8")));
    expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode(tok.encode("x\uDC00y"))).toBe("x\uFFFDy");
    expect(Array.from(new ByteTokenizer(["<|endoftext|>"]).encode("hé", 256))).toEqual([104, 0xc3, 0xa9, 256]);
  });

  it("puts special tokens after the bytes and never produces them from text", () => {
    const tok = new ByteTokenizer(["<|endoftext|>", "<|pad|>"]);
    expect(tok.vocabSize).toBe(258);
    expect(tok.eosId).toBe(256);
    expect(tok.specialTokens).toEqual({ "<|endoftext|>": 256, "<|pad|>": 257 });
    const ids = tok.encode("a<|endoftext|>b");
    expect(ids.length).toBe(15);
    expect(Math.max(...ids)).toBeLessThan(256);
    expect(tok.decode([104, 105, 256, 257])).toBe("hi<|endoftext|><|pad|>");
    expect(() => tok.decode([258])).toThrow(TokenizerFormatError);
  });
});

describe("loadTokenizer", () => {
  it("resolves names to tokenizers and refuses unknown ones with a hint", async () => {
    expect((await loadTokenizer("bytes")).vocabSize).toBe(257);
    const gpt2 = await loadTokenizer("gpt2");
    expect(gpt2.name).toBe("r50k_base");
    expect(gpt2.eosId).toBe(50256);
    await expect(loadTokenizer("cl100k")).rejects.toThrow(/cl100k: is not a tokenizer name/);
    await expect(loadTokenizer("/no/such/tokenizer.json")).rejects.toThrow(/tokenizer\.json: cannot be read/);
  });
});
