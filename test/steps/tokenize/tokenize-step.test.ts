import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { step } from "../../../src/graph/step.ts";
import { versioned } from "../../../src/graph/versioned.ts";
import { openWriter } from "../../../src/io/formats.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import { loadOpenAiTokenizer, readTokenShard } from "../../../src/tokenizers/index.ts";
import { isValidation } from "../../../src/steps/tokenize/tokenize-functions.ts";
import { INLINE_INPUT_BYTES, tokenizeStep, tokenizeThreads, trainTokenizerStep } from "../../../src/steps/tokenize/tokenize-step.ts";
import { pythonWithTorch, repoRoot } from "../../../src/steps/python/kernel-process.ts";
import { tempDir } from "../../support/kiln-cli.ts";

const docs = Array.from({ length: 240 }, (_, i) => ({
  id: `doc-${i}`,
  text: i % 40 === 7 ? "" : `Document ${i}: the quick brown fox — ${"jumps ".repeat(i % 5)}<|endoftext|> 日本語 ${i % 3 ? "🙂" : "é"}`,
}));

/** A step that writes the documents as two parquet files, like a consolidate step would. */
const documents = step({
  name: "fixtures/documents",
  config: { v: versioned(Math.random()) },
  run: async (ctx) => {
    for (const [i, part] of [docs.slice(0, 120), docs.slice(120)].entries()) {
      const w = openWriter(ctx.path(`outputs/main/part-0000${i}-of-00002.parquet`), "parquet");
      await w.write(part);
      await w.close();
    }
    return { documents: docs.length };
  },
});

describe("tokenize step", () => {
  it("tokenizes every document with EOS on two threads, splits by id hash, and writes index and stats", async () => {
    const prefix = tempDir();
    const tok = tokenizeStep({ name: "tokenized/docs", input: documents.output("outputs/main"), tokenizer: "cl100k_base", validationFraction: 0.25, threads: 2 });
    const summary = await runGraph(buildGraph([tok]), { prefix });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack)).toBe(true);
    const out = summary.outcomes.find((o) => o.node.name === "tokenized/docs")!;
    const result = out.result as any;
    const cl100k = await loadOpenAiTokenizer("cl100k_base");
    const nonEmpty = docs.filter((d) => d.text);
    const expectValid = nonEmpty.filter((d) => isValidation(d.id, 0.25));
    expect(result.splits.validation.documents).toBe(expectValid.length);
    expect(result.splits.train.documents).toBe(nonEmpty.length - expectValid.length);
    expect(expectValid.length).toBeGreaterThan(20);
    expect(result.splits.train.bytes + result.splits.validation.bytes).toBe(nonEmpty.reduce((s, d) => s + Buffer.byteLength(d.text), 0));

    // The shards decode back to exactly the documents, each followed by EOS, in file order.
    const decoded: string[] = [];
    for (const shard of [...result.splits.train.shards, ...result.splits.validation.shards]) {
      const { tokens } = await readTokenShard(path.join(out.outputPath, shard));
      let start = 0;
      for (let i = 0; i < tokens.length; i++) {
        if (tokens[i] === cl100k.eosId) {
          decoded.push(cl100k.decode(tokens.subarray(start, i)));
          start = i + 1;
        }
      }
      expect(start).toBe(tokens.length);
    }
    expect(decoded.sort()).toEqual(nonEmpty.map((d) => d.text).sort());
    const stats = JSON.parse(readFileSync(path.join(out.outputPath, "stats.json"), "utf8"));
    expect(stats.empty_documents).toBe(docs.length - nonEmpty.length);
    expect(stats.train.tokens).toBe(result.splits.train.tokens);
    const index = JSON.parse(readFileSync(path.join(out.outputPath, "index.json"), "utf8"));
    expect(index.shards.reduce((s: number, x: { tokens: number }) => s + x.tokens, 0)).toBe(result.splits.train.tokens + result.splits.validation.tokens);
    expect(index.tokenizer).toEqual({ name: "cl100k_base", vocabSize: cl100k.vocabSize, eosId: cl100k.eosId });

    // The Python reader sees the same tokens.
    const { python } = pythonWithTorch();
    const shardPath = path.join(out.outputPath, result.splits.train.shards[0]);
    const py = spawnSync(python, ["-c", "import sys; from kiln_kernels.data import open_shard; a = open_shard(sys.argv[1]); print(len(a), int(a.sum()), str(a.dtype))", shardPath], {
      env: { ...process.env, PYTHONPATH: path.join(repoRoot, "kernels") },
      encoding: "utf8",
    });
    expect(py.status, py.stderr).toBe(0);
    const { tokens } = await readTokenShard(shardPath);
    let sum = 0;
    for (let i = 0; i < tokens.length; i++) sum += tokens[i];
    expect(py.stdout.trim()).toBe(`${tokens.length} ${sum} uint32`);
  });

  it("runs a small input on the step's thread unless threads is configured, and a large one on the pool", async () => {
    const dir = tempDir();
    const w = openWriter(path.join(dir, "small/part-00000.parquet"), "parquet");
    await w.write(docs);
    await w.close();
    expect(await tokenizeThreads(path.join(dir, "small/*.parquet"), null)).toBe(0);
    expect(await tokenizeThreads(path.join(dir, "small/*.parquet"), 2)).toBe(2);
    // Two JSONL files that together pass the threshold; the larger is cut into byte ranges, counted once.
    mkdirSync(path.join(dir, "large"));
    const line = JSON.stringify({ id: "x", text: "word ".repeat(200) }) + "\n";
    writeFileSync(path.join(dir, "large/a.jsonl"), line.repeat(Math.ceil(INLINE_INPUT_BYTES / 2 / line.length)));
    writeFileSync(path.join(dir, "large/b.jsonl"), line.repeat(Math.ceil(INLINE_INPUT_BYTES / 2 / line.length)));
    expect(await tokenizeThreads(path.join(dir, "large/*.jsonl"), null)).toBeUndefined();
    expect(await tokenizeThreads(path.join(dir, "large/a.jsonl"), null)).toBe(0);
  });

  it("trains a BPE tokenizer as a step and tokenizes with it", async () => {
    const prefix = tempDir();
    const trained = trainTokenizerStep({ name: "tokenizers/bpe-300", input: documents.output("outputs/main"), vocabSize: 300 });
    const tok = tokenizeStep({ name: "tokenized/bpe", input: documents.output("outputs/main"), tokenizer: trained, threads: 0 });
    const summary = await runGraph(buildGraph([tok]), { prefix });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack)).toBe(true);
    const result = summary.outcomes.find((o) => o.node.name === "tokenized/bpe")!.result as any;
    expect(result.tokenizer.vocabSize).toBe(300);
    expect(result.tokenizer.eosId).toBe(299);
    const byteCount = result.splits.train.bytes + result.splits.validation.bytes;
    const docCount = result.splits.train.documents + result.splits.validation.documents;
    expect(result.splits.train.tokens + result.splits.validation.tokens - docCount).toBeLessThan(byteCount * 0.8);
  });
});
