/**
 * Fencing and heartbeat of step leases, end to end: real `kiln run` child processes paused with
 * SIGSTOP/SIGCONT on real files, with short lease timings (heartbeat 300 ms, stale after 1.5 s).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { filesBelow, waitFor, type CliResult } from "../support/kiln-cli.ts";
import { fencingRuns } from "./fixtures/fencing-run.ts";

const timing = ["--lease-heartbeat-ms", "300", "--lease-stale-ms", "1500", "--poll-ms", "100"];

describe("lease fencing (child processes)", () => {
  it("a paused owner whose lease was taken over commits nothing: the output holds only the new owner's files", async () => {
    const t = fencingRuns({ args: timing });
    const a = t.start("A", { KILN_TEST_GATE: t.gate });
    await waitFor("A to wait on its gate", () => t.has("A", "waiting"));
    a.child.kill("SIGSTOP");
    let bResult: CliResult;
    try {
      const b = t.start("B");
      bResult = await b.done;
    } finally {
      a.child.kill("SIGCONT");
    }
    expect(bResult.code, bResult.stderr).toBe(0);
    expect(bResult.stderr).toMatch(/take over work: stale lease \(no heartbeat for \d+ s\), epoch 2/);
    const out = t.outputDir();
    const bFiles = [".kiln/info.json", ".kiln/status", "checkpoint.txt", "data/second-B.txt", "first-B.txt"];
    expect(filesBelow(out)).toEqual(bFiles);

    // A goes on: it writes more files into its staging folder and tries to commit.
    writeFileSync(t.gate, "");
    const aResult = await a.done;
    expect(t.has("A", "returning")).toBe(true);
    expect(aResult.code).toBe(1);
    expect(aResult.stderr).toMatch(/step 'work' failed: lost the lease .*\.kiln\/lease/);
    expect(filesBelow(out)).toEqual(bFiles);
    expect(readFileSync(path.join(out, ".kiln/status"), "utf8").trim()).toBe("SUCCESS");
    const info = JSON.parse(readFileSync(path.join(out, ".kiln/info.json"), "utf8"));
    expect(info.pid).toBe(Number(t.detail("B", "started")[0]));
    expect(info.result).toEqual({ run: "B", resumedFrom: null });
    expect(info.attempt.epoch).toBe(2);
    expect(info.outputPath).toBe(out);
    expect(readFileSync(path.join(out, "checkpoint.txt"), "utf8")).toBe("checkpoint of B");
    // A removed its own staging and scratch folders when it failed.
    expect(existsSync(path.join(t.home, ".kiln-staging"))).toBe(false);
  });

  it("the heartbeat thread keeps the lease while the step blocks its own thread longer than the stale time", async () => {
    const t = fencingRuns({ args: timing });
    const a = t.start("A", { KILN_TEST_GATE: t.gate, KILN_TEST_BLOCK_MS: "4500" });
    await waitFor("A to wait on its gate", () => t.has("A", "waiting"));
    const b = t.start("B");
    let bSays = "";
    b.child.stderr!.on("data", (d) => (bSays += d));
    await waitFor("B to wait on A's lease", () => /wait work: running under/.test(bSays));
    // Now A blocks its thread three times the stale time while B polls the lease every 100 ms.
    writeFileSync(t.gate, "");
    await waitFor("A to block", () => t.has("A", "blocking"));
    const [aResult, bResult] = await Promise.all([a.done, b.done]);
    expect(aResult.code, aResult.stderr).toBe(0);
    expect(bResult.code, bResult.stderr).toBe(0);
    expect(bResult.stderr).toMatch(/wait work: running under/);
    expect(bResult.stderr).not.toMatch(/take over/);
    expect(bResult.stderr).toContain("ran 0, skipped 1");
    expect(t.has("B", "started")).toBe(false);
    expect(filesBelow(t.outputDir())).toEqual([".kiln/info.json", ".kiln/status", "checkpoint.txt", "data/second-A.txt", "first-A.txt"]);
  });
});
