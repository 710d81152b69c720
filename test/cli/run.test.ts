import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { filesBelow, fixturePipeline, runKiln, startKiln, tempDir, waitFor } from "../support/kiln-cli.ts";

const pipelineFile = fixturePipeline("counting.ts");

function calls(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];
}

function stepDir(prefix: string, name: string): string {
  const hit = readdirSync(prefix).find((d) => d.startsWith(`${name}-`));
  if (!hit) throw new Error(`no output folder for ${name} in ${prefix}`);
  return path.join(prefix, hit);
}

describe("kiln run (child processes)", () => {
  it("runs every step once, and a second run calls no step and leaves outputs untouched", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    const log = path.join(dir, "calls");
    const env = { KILN_TEST_CALLS: log, KILN_TEST_SALT: "twice" };
    const first = await runKiln(["run", pipelineFile, "--prefix", prefix], env);
    expect(first.code, first.stderr).toBe(0);
    expect(calls(log).sort()).toEqual(["a", "b", "c", "d"]);
    const cOut = path.join(stepDir(prefix, "c"), "part-0.txt");
    const before = statSync(cOut).mtimeMs;
    const infoBefore = readFileSync(path.join(stepDir(prefix, "c"), ".kiln/info.json"), "utf8");
    expect(JSON.parse(infoBefore).result).toEqual({ sum: 3 });

    const second = await runKiln(["run", pipelineFile, "--prefix", prefix], env);
    expect(second.code, second.stderr).toBe(0);
    expect(calls(log)).toHaveLength(4);
    expect(second.stderr).toContain("ran 0, skipped 4");
    expect(statSync(cOut).mtimeMs).toBe(before);
    expect(readFileSync(path.join(stepDir(prefix, "c"), ".kiln/info.json"), "utf8")).toBe(infoBefore);
  });

  it("after SIGKILL mid-step leaves no SUCCESS and no partial output, and the next run redoes the step", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    const log = path.join(dir, "calls");
    const env = { KILN_TEST_CALLS: log, KILN_TEST_SALT: "kill", KILN_TEST_SLOW_STEP: "b", KILN_TEST_SLOW_MS: "30000" };
    const { child, done } = startKiln(["run", pipelineFile, "--prefix", prefix, "--max-concurrent", "1"], env);
    await waitFor("step b to start", () => calls(log).includes("b:started"), { timeoutMs: 20_000 });
    child.kill("SIGKILL");
    const killed = await done;
    expect(killed.signal).toBe("SIGKILL");

    const bDir = stepDir(prefix, "b");
    expect(readFileSync(path.join(bDir, ".kiln/status"), "utf8").trim()).toBe("RUNNING");
    expect(existsSync(path.join(bDir, "big.txt"))).toBe(false);
    // The killed attempt wrote into its staging folder only, outside the output folder.
    expect(filesBelow(bDir)).toEqual([".kiln/lease", ".kiln/status"]);
    const staged = filesBelow(path.join(prefix, ".kiln-staging", path.basename(bDir)));
    expect(staged.some((f) => f.endsWith("/part-0.txt"))).toBe(true);
    expect(staged.some((f) => f.includes(".kiln-tmp-"))).toBe(true);

    const again = await runKiln(["run", pipelineFile, "--prefix", prefix], { ...env, KILN_TEST_SLOW_MS: "10" });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/take over b: stale lease \(holder pid \d+ on this host is dead\)/);
    expect(calls(log).filter((l) => l === "b")).toHaveLength(2);
    expect(calls(log).filter((l) => l === "a")).toHaveLength(1);
    expect(readFileSync(path.join(bDir, ".kiln/status"), "utf8").trim()).toBe("SUCCESS");
    expect(readFileSync(path.join(bDir, "big.txt"), "utf8")).toHaveLength(1 << 17);
    expect(filesBelow(bDir)).toEqual([".kiln/info.json", ".kiln/status", "big.txt", "part-0.txt"]);
    expect(existsSync(path.join(prefix, ".kiln-staging"))).toBe(false);
  });

  it("two runs of one pipeline at once run every step body exactly once", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    const log = path.join(dir, "calls");
    // Step a sleeps long enough that the two child processes overlap even when start-up is slow.
    const env = { KILN_TEST_CALLS: log, KILN_TEST_SALT: "concurrent", KILN_TEST_SLOW_STEP: "a", KILN_TEST_SLOW_MS: "2500" };
    const args = ["run", pipelineFile, "--prefix", prefix, "--poll-ms", "50"];
    const [r1, r2] = await Promise.all([runKiln(args, env), runKiln(args, env)]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(calls(log).filter((l) => !l.includes(":")).sort()).toEqual(["a", "b", "c", "d"]);
    expect(`${r1.stderr}${r2.stderr}`).toMatch(/wait a: running under/);
  });

  it("marks dependents of a failed step DEP_FAILED, exits non-zero naming the step and error, and reruns it only with --force-failed", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    const log = path.join(dir, "calls");
    const env = { KILN_TEST_CALLS: log, KILN_TEST_SALT: "fail", KILN_TEST_FAIL_STEP: "b" };
    const res = await runKiln(["run", pipelineFile, "--prefix", prefix], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("step 'b' failed: boom in b");
    expect(res.stderr).toMatch(/not run because a dependency failed: c/);
    expect(readFileSync(path.join(stepDir(prefix, "b"), ".kiln/status"), "utf8").trim()).toBe("FAILED");
    expect(readFileSync(path.join(stepDir(prefix, "c"), ".kiln/status"), "utf8").trim()).toBe("DEP_FAILED");
    expect(JSON.parse(readFileSync(path.join(stepDir(prefix, "b"), ".kiln/info.json"), "utf8")).error.message).toBe("boom in b");
    expect(calls(log).sort()).toEqual(["a", "b", "d"]);

    const dry = await runKiln(["run", pipelineFile, "--prefix", prefix, "--dry-run"], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^a\s+skip\s+SUCCESS marker present/m);
    expect(dry.stdout).toMatch(/^b\s+blocked\s+FAILED in an earlier run; --force-failed reruns it/m);
    expect(dry.stdout).toMatch(/^c\s+blocked\s+dependency 'b' is blocked/m);

    const again = await runKiln(["run", pipelineFile, "--prefix", prefix], { ...env, KILN_TEST_FAIL_STEP: "" });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("failed in an earlier run: boom in b");
    expect(calls(log)).toHaveLength(3);

    const forced = await runKiln(["run", pipelineFile, "--prefix", prefix, "--force-failed"], { ...env, KILN_TEST_FAIL_STEP: "" });
    expect(forced.code, forced.stderr).toBe(0);
    expect(calls(log).sort()).toEqual(["a", "b", "b", "c", "d"]);
  });

  it("--only runs the matching steps and their dependencies; --force reruns a finished step", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    const log = path.join(dir, "calls");
    const env = { KILN_TEST_CALLS: log, KILN_TEST_SALT: "only" };
    const res = await runKiln(["run", pipelineFile, "--prefix", prefix, "--only", "^b$"], env);
    expect(res.code, res.stderr).toBe(0);
    expect(calls(log).sort()).toEqual(["a", "b"]);
    const forced = await runKiln(["run", pipelineFile, "--prefix", prefix, "--only", "^b$", "--force", "a"], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(calls(log).sort()).toEqual(["a", "a", "b"]);
  });
});
