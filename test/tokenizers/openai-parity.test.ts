// kiln's own encoder on the OpenAI vocabularies, checked id for id against tiktoken (the reference
// implementation) on a sample of the embedded corpus and on hand-picked hard cases.
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { get_encoding, type Tiktoken } from "tiktoken";
import { loadOpenAiTokenizer, type Tokenizer } from "../../src/tokenizers/index.ts";
import { loadCorpus, totalBytes } from "./corpus.ts";

const HARD_CASES = [
  "",
  "hello world",
  "It's 'S 'LL 'ſ don't WE'VE",
  "emoji 😀🎉👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵",
  "中文字符 日本語のテキスト 한국어",
  "combining: e\u0301 a\u0308 Z\u0335\u0321\u031b",
  "\uFEFFstarts with BOM and \uFEFF inside",
  "NEL\u0085line and nbsp\u00A0and ideographic\u3000space",
  "   leading spaces\n\n\n  trailing  \t\r\n",
  "digits 1234567890 ١٢٣ ⅷ",
  "a".repeat(500) + " " + "xy".repeat(300),
  "lone \uD800 high and \uDC00 low surrogates \uD83D",
  "\r\n\r\n\u2028\u2029 separators",
];

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("cl100k_base against tiktoken", () => {
  let ours: Tokenizer;
  let reference: Tiktoken;
  beforeAll(async () => {
    ours = await loadOpenAiTokenizer("cl100k_base");
    reference = get_encoding("cl100k_base");
  });
  afterAll(() => reference.free());

  it("matches id for id on a sample of every corpus source", () => {
    const corpus = loadCorpus(12);
    expect(totalBytes(corpus)).toBeGreaterThan(1_000_000);
    const kinds = new Set(corpus.map((c) => c.source.split("node_modules/")[1]?.split("/")[0] ?? "kiln-src"));
    expect(kinds.size).toBeGreaterThanOrEqual(4);
    const mismatched = corpus.filter((c) => !same(ours.encode(c.text), reference.encode(c.text, [], [])));
    expect(mismatched.map((c) => c.source)).toEqual([]);
  });

  it("matches on hard Unicode, whitespace and long-piece cases", () => {
    for (const text of HARD_CASES) expect(Array.from(ours.encode(text)), JSON.stringify(text)).toEqual(Array.from(reference.encode(text, [], [])));
  });

  it("appends an end id in the same array when given one, on fresh and on cached pieces", () => {
    const eos = ours.eosId!;
    for (const text of [...HARD_CASES, ...HARD_CASES]) {
      expect(Array.from(ours.encode(text, eos)), JSON.stringify(text)).toEqual([...reference.encode(text, [], []), eos]);
    }
  });

  it("encodes special-token text as ordinary text, never as the special id", () => {
    const text = "end of doc<|endoftext|>next <|fim_prefix|>x<|endofprompt|>";
    const ids = ours.encode(text);
    expect(Array.from(ids)).toEqual(Array.from(reference.encode(text, [], [])));
    for (const special of Object.values(ours.specialTokens)) expect(ids).not.toContain(special);
    expect(ours.decode(ids)).toBe(text);
    expect(ours.eosId).toBe(reference.encode("<|endoftext|>", "all")[0]);
  });

  it("round-trips text, replacing lone surrogates with U+FFFD", () => {
    for (const text of HARD_CASES) {
      expect(ours.decode(ours.encode(text))).toBe((text as unknown as { toWellFormed(): string }).toWellFormed());
    }
    expect(ours.decode(ours.encode("a\uD800b"))).toBe("a\uFFFDb");
  });

  it("gives the same ids on a second pass (cache hits) as on the first", () => {
    const text = loadCorpus(200)[0].text;
    expect(Array.from(ours.encode(text))).toEqual(Array.from(ours.encode(text)));
  });

  it("stays exact when a tiny cache keeps evicting and promoting pieces", async () => {
    const tiny = await loadOpenAiTokenizer("cl100k_base", { cacheSize: 8 });
    const texts = loadCorpus(300).map((c) => c.text);
    for (let pass = 0; pass < 2; pass++) {
      for (const text of texts) expect(same(tiny.encode(text), reference.encode(text, [], []))).toBe(true);
    }
  });
});

describe("other OpenAI vocabularies against tiktoken", () => {
  for (const name of ["o200k_base", "gpt2", "p50k_base"] as const) {
    it(`${name} matches on the hard cases and a corpus slice`, async () => {
      const ours = await loadOpenAiTokenizer(name);
      const reference = get_encoding(name);
      const texts = [...HARD_CASES, ...loadCorpus(400).map((c) => c.text)];
      for (const text of texts) {
        expect(same(ours.encode(text), reference.encode(text, [], [])), JSON.stringify(text.slice(0, 60))).toBe(true);
      }
      reference.free();
    });
  }
});
