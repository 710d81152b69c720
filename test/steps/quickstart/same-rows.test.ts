/**
 * The quickstart's data steps give the same rows on the worker pool and on the inline executor, and
 * the recorded rows: test/golden/datakit-rows.json holds the content hashes (sorted rows, keys
 * sorted, nulls dropped; see test/support/row-hash.ts) of the outputs on the same three sources.
 * The normalize hashes are those of commit 0b0e50c, whose steps drove their own worker pools
 * (first-occurrence dedup keeps the same copies on these sources); the MinHash, quality and
 * consolidated hashes were recorded again when near-duplicates became verified against a Jaccard
 * threshold (default 0.65) and the quality step gained its rule-set verdicts.
 * Each run is the real `kiln run` of test/fixtures/pipelines/datakit.ts.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, repoRoot, runKiln, tempDir } from "../../support/kiln-cli.ts";
import { datakitHashes } from "../../support/row-hash.ts";

const SOURCES = ["brown-press", "spam-assassin-spam", "js-ts-code"];
const golden = JSON.parse(readFileSync(path.join(repoRoot, "test/golden/datakit-rows.json"), "utf8"));

async function runDatakit(prefix: string, threads?: number) {
  const env: Record<string, string> = { KILN_QUICKSTART_SOURCES: SOURCES.join(",") };
  if (threads !== undefined) env.KILN_QUICKSTART_THREADS = String(threads);
  const res = await runKiln(["run", fixturePipeline("datakit.ts"), "--prefix", prefix], env);
  expect(res.code, res.stderr.slice(-3000)).toBe(0);
  expect(res.stderr).toContain("ran 9, skipped 0");
  return datakitHashes(prefix, SOURCES);
}

describe("the quickstart's data steps on the engine", () => {
  it("give the same rows on the pool, inline, and as before the engine ran them", async () => {
    const dir = tempDir("kiln-same-rows-");
    const pool = await runDatakit(path.join(dir, "pool"));
    const inline = await runDatakit(path.join(dir, "inline"), 0);
    expect(pool).toEqual(inline);
    expect(pool).toEqual(golden);
    // The hashes cover real content: near-duplicates and exact duplicates were found and filtered.
    expect(pool["normalized/spam-assassin-spam/dups"].rows).toBeGreaterThan(100);
    expect(pool["dedup/spam-assassin-spam"].rows).toBeGreaterThan(100);
    expect(pool["consolidated/spam-assassin-spam"].rows).toBeLessThan(pool["normalized/spam-assassin-spam/main"].rows);
  }, 300_000);
});
