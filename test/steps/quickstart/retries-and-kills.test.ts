/**
 * The engine's guarantees as the built-in steps get them, through the real `kiln run`:
 *  - a task of the normalize step and tasks of the MinHash step (a map stage and a label round of its
 *    iterate) that throw once (faults injected with KILN_FAULTS) are retried, the retries are counted
 *    in the steps' info.json, and the outputs are the same rows as a run without faults;
 *  - runs SIGKILLed a little after each step starts (not at fixed times, which a fast run outruns),
 *    then rerun, converge, and leave no execution folder
 *    (kiln-dataset-*), spill folder (kiln-shuffle-spill-*), scratch folder or staging area behind.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, repoRoot, runKiln, startKiln, tempDir } from "../../support/kiln-cli.ts";
import { datakitHashes, stepFolder } from "../../support/row-hash.ts";

const SOURCES = ["spam-assassin-spam"];
const env = { KILN_QUICKSTART_SOURCES: SOURCES.join(",") };

function counters(prefix: string, step: string): Record<string, number> {
  return JSON.parse(readFileSync(path.join(stepFolder(prefix, step), ".kiln/info.json"), "utf8")).counters;
}

/** Every file or folder below `dir` whose name starts with one of `prefixes`. */
function leftovers(dir: string, prefixes: string[]): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (prefixes.some((x) => entry.name.startsWith(x))) found.push(p);
    else if (entry.isDirectory()) found.push(...leftovers(p, prefixes));
  }
  return found;
}

/** Starts `kiln run` and SIGKILLs it `afterMs` after it logs that it runs `stepName` (or lets it end, if it never does). */
async function killDuring(args: string[], env: Record<string, string>, stepName: string, afterMs: number) {
  const run = startKiln(args, env);
  let output = "";
  await new Promise<void>((resolve) => {
    const watch = (chunk: Buffer) => {
      output += String(chunk);
      if (output.includes(`run ${stepName} ->`)) resolve();
    };
    run.child.stdout!.on("data", watch);
    run.child.stderr!.on("data", watch);
    void run.done.then(() => resolve());
  });
  await new Promise((r) => setTimeout(r, afterMs));
  run.child.kill("SIGKILL");
  return run.done;
}

describe("retries and kills in the built-in steps", () => {
  it("a normalize task and MinHash tasks (signatures, the verification scan) that throw once are retried and the rows are unchanged", async () => {
    const dir = tempDir("kiln-faults-");
    const clean = await runKiln(["run", fixturePipeline("datakit.ts"), "--prefix", path.join(dir, "clean")], env);
    expect(clean.code, clean.stderr.slice(-2000)).toBe(0);
    const faults = [
      { label: "normalized/spam-assassin-spam", stage: 0, shard: 0, action: "throw" },
      { label: "dedup/minhash signatures", stage: 0, shard: 0, action: "throw" },
      { label: "dedup/minhash verify.shingles", stage: 0, shard: 0, action: "throw" },
    ];
    const faulty = await runKiln(["run", fixturePipeline("datakit.ts"), "--prefix", path.join(dir, "faulty")], { ...env, KILN_FAULTS: JSON.stringify(faults) });
    expect(faulty.code, faulty.stderr.slice(-2000)).toBe(0);
    expect(faulty.stderr.match(/attempt 1 of 3 failed, retrying: injected fault/g)).toHaveLength(3);
    expect(counters(path.join(dir, "faulty"), "normalized/spam-assassin-spam")["normalize.stage0.retries"]).toBe(1);
    const dedup = counters(path.join(dir, "faulty"), "dedup/minhash");
    expect(dedup["signatures.stage0.retries"]).toBe(1);
    expect(dedup["verify.shingles.stage0.retries"]).toBe(1);
    expect(await datakitHashes(path.join(dir, "faulty"), SOURCES)).toEqual(await datakitHashes(path.join(dir, "clean"), SOURCES));
  }, 300_000);

  it("runs killed at several moments and rerun converge and leave no execution, spill or staging folders", async () => {
    const dir = tempDir("kiln-kills-");
    const tmp = path.join(dir, "tmp");
    mkdirSync(tmp);
    const prefix = path.join(dir, "out");
    const args = ["run", fixturePipeline("datakit.ts"), "--prefix", prefix];
    // Each run is killed a little after it starts one step (never at a fixed time, which a fast run
    // outruns): during the download, then normalize, then MinHash, then consolidate.
    const moments: [string, number][] = [
      ["download/embedded", 300],
      ["normalized/spam-assassin-spam", 100],
      ["dedup/minhash", 100],
      ["consolidated/spam-assassin-spam", 20],
    ];
    let kills = 0;
    for (const [stepName, afterMs] of moments) {
      const killed = await killDuring(args, { ...env, TMPDIR: tmp }, stepName, afterMs);
      if (killed.signal !== "SIGKILL") break; // it finished first: nothing left to interrupt
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const last = await runKiln(args, { ...env, TMPDIR: tmp });
    expect(last.code, last.stderr.slice(-2000)).toBe(0);
    // Normalize does not depend on the other sources: its rows are those of the golden run.
    const golden = JSON.parse(readFileSync(path.join(repoRoot, "test/golden/datakit-rows.json"), "utf8"));
    const hashes = await datakitHashes(prefix, SOURCES);
    for (const key of ["normalized/spam-assassin-spam/main", "normalized/spam-assassin-spam/dups"]) expect(hashes[key], key).toEqual(golden[key]);
    const names = ["kiln-dataset-", "kiln-shuffle-spill-", "kiln-step-"];
    expect(leftovers(tmp, names)).toEqual([]);
    expect(leftovers(prefix, names)).toEqual([]);
    const staging = path.join(prefix, ".kiln-staging");
    expect(leftovers(staging, ["a-"]).filter((p) => !p.endsWith("resume"))).toEqual([]);
  }, 300_000);
});
