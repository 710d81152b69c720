// Compiled vocabulary files: a vocabulary saved by one process and mapped back by another must
// encode id for id as the freshly built one, and a damaged or truncated file must be rebuilt, never
// trusted. Uses the real GPT-2 and cl100k vocabularies and real files in a temporary folder.
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ByteLevelBpeTokenizer, loadOpenAiTokenizer } from "../../src/tokenizers/index.ts";
import { loadCompiledVocabulary, parseCompiled, serializeCompiled } from "../../src/tokenizers/vocabulary-cache.ts";
import type { CompiledBpe } from "../../src/tokenizers/compile-bpe.ts";
import { tempDir } from "../support/kiln-cli.ts";
import { loadCorpus } from "./corpus.ts";

const SAMPLES = ["hello world", "It's 'S 'LL don't", "emoji 😀🎉 中文字符 한국어", "   spaces\n\n\t\r\n", "a".repeat(300), "lone \uD800 surrogate", "<|endoftext|> as text"];

function sameIds(a: ByteLevelBpeTokenizer, b: ByteLevelBpeTokenizer, texts: string[]): string[] {
  return texts.filter((t) => {
    const x = a.encode(t);
    const y = b.encode(t);
    return x.length !== y.length || x.some((id, i) => id !== y[i]);
  });
}

describe("compiled vocabulary files", () => {
  it("round-trips cl100k_base through its file bytes and encodes id for id as the built tokenizer", async () => {
    const built = await loadOpenAiTokenizer("cl100k_base", { cacheSize: 4096 });
    const bytes = serializeCompiled(built.compiled);
    // A copy at an odd offset: the reader must not depend on the caller's alignment.
    const shifted = Buffer.alloc(bytes.length + 3);
    bytes.copy(shifted, 3);
    const parsed = parseCompiled(shifted.subarray(3));
    if (typeof parsed === "string") throw new Error(parsed);
    const mapped = new ByteLevelBpeTokenizer(parsed, 4096);
    expect([mapped.name, mapped.vocabSize, mapped.eosId]).toEqual(["cl100k_base", 100277, 100257]);
    expect(mapped.specialTokens).toEqual(built.specialTokens);
    const texts = [...SAMPLES, ...loadCorpus(40).map((c) => c.text.slice(0, 20_000))];
    expect(sameIds(built, mapped, texts)).toEqual([]);
    const ids = mapped.encode(SAMPLES[2]);
    expect(mapped.decode(ids)).toBe(SAMPLES[2]);
    expect(mapped.bytesOf(100257)).toEqual(new TextEncoder().encode("<|endoftext|>"));
  });

  it("builds once, then reads the file; a damaged or truncated file is rejected, rebuilt and rewritten", async () => {
    const dir = tempDir("kiln-vocab-");
    const gpt2 = await loadOpenAiTokenizer("gpt2", { cacheSize: 1024 });
    let builds = 0;
    const build = async (): Promise<CompiledBpe> => {
      builds++;
      return gpt2.compiled;
    };
    const first = await loadCompiledVocabulary("gpt2-test", build, dir);
    expect([first.from, builds]).toEqual(["built", 1]);
    const file = path.join(dir, "gpt2-test.kbpe");
    expect(readdirSync(dir)).toEqual(["gpt2-test.kbpe"]);

    const second = await loadCompiledVocabulary("gpt2-test", build, dir);
    expect([second.from, builds]).toEqual(["file", 1]);
    expect(sameIds(gpt2, new ByteLevelBpeTokenizer(second.compiled, 1024), SAMPLES)).toEqual([]);

    const damaged = readFileSync(file);
    damaged[damaged.length - 100] ^= 0xff;
    writeFileSync(file, damaged);
    const third = await loadCompiledVocabulary("gpt2-test", build, dir);
    expect([third.from, third.rejected, builds]).toEqual(["built", "checksum mismatch", 2]);
    expect((await loadCompiledVocabulary("gpt2-test", build, dir)).from).toBe("file");

    truncateSync(file, 20);
    const fourth = await loadCompiledVocabulary("gpt2-test", build, dir);
    expect([fourth.from, fourth.rejected, builds]).toEqual(["built", "shorter than the header", 3]);
    expect(readdirSync(dir)).toEqual(["gpt2-test.kbpe"]);
  });

  it("loadOpenAiTokenizer saves the vocabulary in KILN_TOKENIZER_CACHE and a later load maps it", async () => {
    const dir = tempDir("kiln-vocab-env-");
    const before = process.env.KILN_TOKENIZER_CACHE;
    process.env.KILN_TOKENIZER_CACHE = dir;
    try {
      const first = await loadOpenAiTokenizer("p50k_base", { cacheSize: 1024 });
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^p50k_base-\d+-\d+-v\d+\.kbpe$/);
      const parsed = parseCompiled(readFileSync(path.join(dir, files[0])));
      expect(typeof parsed === "string" ? parsed : parsed.name).toBe("p50k_base");
      const inode = statSync(path.join(dir, files[0])).ino;
      const second = await loadOpenAiTokenizer("p50k_base", { cacheSize: 1024 });
      expect(sameIds(first, second, SAMPLES)).toEqual([]);
      // Read, not rebuilt: a rebuild would have renamed a new file into place.
      expect(statSync(path.join(dir, files[0])).ino).toBe(inode);
    } finally {
      if (before === undefined) delete process.env.KILN_TOKENIZER_CACHE;
      else process.env.KILN_TOKENIZER_CACHE = before;
    }
  });
});
