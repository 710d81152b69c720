/**
 * The driver and Redis going away mid-run, with real processes:
 *  - the driver SIGKILLed while a chain of three steps runs on the workers, then rerun: the rerun
 *    converges to the exact rows, and no step and no task ran twice (the workers finished what they
 *    had started, and the rerun found it finished or waited for it);
 *  - redis-server SIGKILLed mid-run and started again empty on the same port: the run carries on
 *    (jobs Redis lost are queued again) or fails saying Redis was unreachable, and a rerun converges.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runKiln, startKiln, tempDir, waitFor } from "../support/kiln-cli.ts";
import { expectedGroups } from "./fixtures/functions.ts";
import { groups, ledger, pipelineFile, repeated, status } from "./helpers.ts";
import { FAST_STALL, hasRedis, startRedis, startWorker } from "./support.ts";

const STEPS = ["numbers-1", "numbers-2", "numbers-3"];

describe.skipIf(!hasRedis)("the driver or Redis lost mid-run", () => {
  it("a driver SIGKILLed mid-run and rerun converges without running a step or task twice", async () => {
    const dir = tempDir("kiln-dist-driver-");
    const env = { KILN_TEST_LEDGER: dir, KILN_TEST_ROWS: "300", KILN_TEST_SHARDS: "4", KILN_TEST_ROW_MS: "8", KILN_TEST_CHAIN: "3" };
    const redis = await startRedis();
    await Promise.all([startWorker(redis.url, ["--steps", "1"], env), startWorker(redis.url, ["--steps", "1"], env)]);
    const prefix = path.join(dir, "out");
    const args = ["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", redis.url];
    const first = startKiln(args, env);
    await waitFor("the second step to start", () => ledger(dir, "steps.log").some((l) => l.startsWith("numbers-2 ")), { timeoutMs: 90_000 });
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");
    const rerun = await runKiln(args, env);
    expect(rerun.code, rerun.stderr.slice(-3000)).toBe(0);
    for (const s of STEPS) {
      expect(status(prefix, s)).toBe("SUCCESS");
      expect(groups(prefix, s)).toEqual(expectedGroups(300));
    }
    expect(ledger(dir, "steps.log").map((l) => l.split(" ")[0])).toEqual(STEPS);
    expect(repeated(ledger(dir, "tasks.log"))).toEqual([]);
    expect(ledger(dir, "tasks.log")).toHaveLength(3 * 4);
  }, 240_000);

  it("a Redis restarted empty mid-run: the run continues or fails clearly, and a rerun converges", async () => {
    const dir = tempDir("kiln-dist-redis-");
    const env = { KILN_TEST_LEDGER: dir, KILN_TEST_ROWS: "400", KILN_TEST_SHARDS: "6", KILN_TEST_ROW_MS: "10", KILN_TEST_CHAIN: "2" };
    const redis = await startRedis();
    await Promise.all([startWorker(redis.url, [...FAST_STALL, "--steps", "1"], env), startWorker(redis.url, [...FAST_STALL, "--steps", "1"], env)]);
    const prefix = path.join(dir, "out");
    const args = ["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", redis.url, "--redis-timeout-ms", "20000"];
    const first = startKiln(args, env);
    await waitFor("tasks to run", () => ledger(dir, "tasks.log").length >= 2, { timeoutMs: 90_000 });
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();
    const res = await first.done;
    if (res.code !== 0) expect(res.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ has been unreachable|workers kept dying/);
    // A step that failed for want of Redis is FAILED like any failure: the rerun asks for it again.
    const rerun = await runKiln(res.code === 0 ? args : [...args, "--force-failed"], env);
    expect(rerun.code, `${res.stderr.slice(-2000)}\n---\n${rerun.stderr.slice(-2000)}`).toBe(0);
    for (const s of ["numbers-1", "numbers-2"]) expect(groups(prefix, s)).toEqual(expectedGroups(400));
    // A step that had finished is never run again.
    expect(repeated(ledger(dir, "steps.log").filter((l) => l.startsWith("numbers-1 ")))).toEqual([]);
  }, 240_000);
});
