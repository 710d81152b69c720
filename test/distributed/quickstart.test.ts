/**
 * The quickstart's data steps (download, normalize, MinHash dedup, quality, consolidate) on three
 * sources through `kiln run --redis` and two worker processes of one task thread each give the same
 * rows as the local run: the content hashes in test/golden/datakit-rows.json, which
 * test/steps/quickstart/same-rows.test.ts checks the local pool and inline runs against.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, repoRoot, runKiln, tempDir } from "../support/kiln-cli.ts";
import { datakitHashes } from "../support/row-hash.ts";
import { info } from "./helpers.ts";
import { hasRedis, startRedis, startWorker } from "./support.ts";

const SOURCES = ["brown-press", "spam-assassin-spam", "js-ts-code"];
const golden = JSON.parse(readFileSync(path.join(repoRoot, "test/golden/datakit-rows.json"), "utf8"));

describe.skipIf(!hasRedis)("the quickstart's data steps on two workers", () => {
  it("give the same rows as the local run", async () => {
    const env = { KILN_QUICKSTART_SOURCES: SOURCES.join(",") };
    const redis = await startRedis();
    const workers = await Promise.all([startWorker(redis.url, ["--concurrency", "1"], env), startWorker(redis.url, ["--concurrency", "1"], env)]);
    const prefix = path.join(tempDir("kiln-dist-quickstart-"), "out");
    const res = await runKiln(["run", fixturePipeline("datakit.ts"), "--prefix", prefix, "--redis", redis.url], env);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    expect(res.stderr).toContain("ran 9, skipped 0");
    expect(await datakitHashes(prefix, SOURCES)).toEqual(golden);
    // The MinHash step's tasks ran on both workers.
    const ran = new Set((info(prefix, "dedup/minhash").tasks ?? []).map((t) => t.worker));
    expect(ran.size).toBe(2);
    for (const w of workers) expect(w.child.exitCode).toBeNull();
  }, 400_000);
});
