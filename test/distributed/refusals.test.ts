/**
 * Workers that must not run a job refuse it, and the step fails at once with their reason:
 *  - a worker whose pipeline module differs from the driver's (the file changed after the driver
 *    read it) refuses with KILN_WORKER_CODE_MISMATCH naming the module;
 *  - a worker that cannot see the driver's prefix (run in its own mount namespace, where an empty
 *    file system hides the prefix's folder) refuses with KILN_WORKER_PREFIX_UNREACHABLE.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { kilnBin, repoRoot, startKiln, tempDir, waitFor } from "../support/kiln-cli.ts";
import { hasRedis, killChild, startRedis, startWorker, stopWhenFileEnds } from "./support.ts";

/** Whether this machine lets us give a process its own mount namespace (root, unshare present). */
const canUnshare = hasRedis && spawnSync("unshare", ["-m", "true"]).status === 0;
if (hasRedis && !canUnshare) console.log("unshare -m is not available here: the unreachable-prefix test is skipped");

/** A pipeline module outside the repository (importing kiln by path) that a test may change. */
function writePipeline(dir: string): string {
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  const file = path.join(dir, "pipeline.ts");
  writeFileSync(
    file,
    `import { pipeline, step } from ${JSON.stringify(path.join(repoRoot, "src/index.ts"))};\n` +
      `export default pipeline({ name: "p", steps: [step({ name: "hello", run: async (ctx) => { await ctx.writeFile("a.txt", "a"); return 1; } })] });\n`,
  );
  return file;
}

describe.skipIf(!hasRedis)("workers refuse what they must not run", () => {
  it("refuses a step whose pipeline module differs from the driver's", async () => {
    const dir = tempDir("kiln-dist-code-");
    const file = writePipeline(dir);
    const redis = await startRedis();
    const driver = startKiln(["run", file, "--prefix", path.join(dir, "out"), "--redis", redis.url]);
    let err = "";
    driver.child.stderr!.on("data", (d) => (err += d));
    await waitFor("the driver to queue its step", () => err.includes("no worker is live"), { timeoutMs: 60_000 });
    appendFileSync(file, "// changed after the driver read it\n");
    await startWorker(redis.url);
    const res = await driver.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/step 'hello' failed: worker \S+ refused the job: module file:\/\/\S+pipeline\.ts differs here/);
    expect(res.stderr).toContain("deploy the same kiln and pipeline code");
  }, 120_000);

  it.skipIf(!canUnshare)("refuses a step when the worker cannot see the driver's prefix", async () => {
    const dir = tempDir("kiln-dist-prefix-");
    const hidden = path.join(dir, "shared");
    mkdirSync(hidden);
    const file = writePipeline(dir);
    const redis = await startRedis();
    // The worker's view of `hidden` is an empty tmpfs: the same path, not the same folder.
    const worker = spawn("unshare", ["-m", "sh", "-c", `mount -t tmpfs tmpfs '${hidden}' && exec '${process.execPath}' '${kilnBin}' worker --redis ${redis.url}`], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let werr = "";
    worker.stderr!.on("data", (d) => (werr += d));
    stopWhenFileEnds(() => killChild(worker));
    await waitFor("the namespaced worker", () => werr.includes(" ready: "), { timeoutMs: 60_000 });
    const driver = startKiln(["run", file, "--prefix", path.join(hidden, "out"), "--redis", redis.url]);
    const res = await driver.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/step 'hello' failed: worker \S+ cannot see the driver's prefix \S+\/shared\/out: cannot read \S+probe-/);
    expect(werr).toContain("refused step hello");
  }, 120_000);
});
