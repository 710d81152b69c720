/**
 * A new user's pipeline in a project of its own: it imports only from the package entry ("kiln",
 * through node_modules), type-checks with the TypeScript compiler, and runs all nine built-in steps
 * (download, normalize, MinHash dedup, quality, consolidate, train tokenizer, tokenize, train, eval)
 * with `kiln run`, its report hook reading typed results without casts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runKiln, tempDir } from "../support/kiln-cli.ts";

const PIPELINE = `
import {
  consolidateStep,
  downloadStep,
  evalStep,
  minhashDedupStep,
  normalizeStep,
  pipeline,
  qualityStep,
  tokenizeStep,
  trainStep,
  trainTokenizerStep,
  type ConsolidateFilter,
} from "kiln";

const download = downloadStep({ name: "download", sources: ["brown-press", "spam-assassin-spam"] });
const normalized = {
  news: normalizeStep({ name: "normalized/news", input: download, sources: ["brown-press"] }),
  spam: normalizeStep({ name: "normalized/spam", input: download, sources: ["spam-assassin-spam"] }),
};
const dedup = minhashDedupStep({ name: "dedup", sources: normalized });
const quality = qualityStep({ name: "quality", sources: normalized, positive: ["news"], negative: ["spam"], examplesPerClass: 200 });
const filters: ConsolidateFilter[] = [
  { type: "drop-false", attribute: "is_cluster_canonical", name: "near-duplicate" },
  { type: "threshold", attribute: "word_count", min: 5, name: "too-short" },
];
const consolidated = {
  news: consolidateStep({ name: "consolidated/news", input: normalized.news, attributes: { minhash: dedup.output("news"), quality: quality.output("news") }, filters }),
  spam: consolidateStep({ name: "consolidated/spam", input: normalized.spam, attributes: { minhash: dedup.output("spam"), quality: quality.output("spam") }, filters }),
};
const bpe = trainTokenizerStep({ name: "tokenizer", input: consolidated.news, files: "outputs/main/*.parquet", vocabSize: 400 });
const tokenized = {
  news: tokenizeStep({ name: "tokenized/news", input: consolidated.news, files: "outputs/main/*.parquet", tokenizer: bpe }),
  spam: tokenizeStep({ name: "tokenized/spam", input: consolidated.spam, files: "outputs/main/*.parquet", tokenizer: bpe }),
};
const model = trainStep({
  name: "train",
  data: tokenized,
  hyperparameters: {
    seq_len: 32,
    model: { d_model: 32, n_layers: 1, n_heads: 2, moe: { n_experts: 2, top_k: 1, d_expert: 32 } },
    train: { steps: 3, batch_size: 2, seed: 0 },
  },
  threads: 1,
});
const evaluation = evalStep({ name: "eval", model, data: tokenized, maxTokens: 512, threads: 1 });

export default pipeline({
  name: "user-pipeline",
  steps: [evaluation],
  report: (run) => {
    const bpb: number | undefined = run.resultOf(evaluation)?.macroBpb;
    const kept: number | undefined = run.resultOf(consolidated.news)?.documents;
    const clusters: number | undefined = run.resultOf(dedup)?.clusters;
    const vocab: number | undefined = run.resultOf(bpe)?.vocabSize;
    console.log("REPORT " + JSON.stringify({ bpb, kept, clusters, vocab, steps: run.outcomes.length }));
  },
});
`;

describe("a user pipeline that imports only from the package entry", () => {
  it("type-checks and runs all nine built-in steps", async () => {
    const dir = tempDir("kiln-user-nine-");
    const project = path.join(dir, "project");
    mkdirSync(path.join(project, "node_modules"), { recursive: true });
    symlinkSync(repoRoot, path.join(project, "node_modules/kiln"), "dir");
    writeFileSync(path.join(project, "pipeline.ts"), PIPELINE);
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [path.join(repoRoot, "node_modules/@types")],
          lib: ["ES2023"],
        },
        files: ["pipeline.ts"],
      }),
    );
    const tsc = spawnSync(process.execPath, [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", project], { encoding: "utf8" });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);

    const res = await runKiln(["run", path.join(project, "pipeline.ts"), "--prefix", path.join(dir, "out")]);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    // download, 2 normalize, dedup, quality, 2 consolidate, tokenizer, 2 tokenize, train, eval
    expect(res.stderr).toContain("ran 12, skipped 0");
    const report = JSON.parse(res.stdout.split("\n").find((l) => l.startsWith("REPORT "))!.slice("REPORT ".length));
    expect(report.steps).toBe(12);
    expect(report.vocab).toBe(400);
    expect(report.kept).toBeGreaterThan(10);
    expect(report.clusters).toBeGreaterThan(0);
    expect(report.bpb).toBeGreaterThan(0);
  }, 300_000);
});
