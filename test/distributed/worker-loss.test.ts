/**
 * Worker loss, with real worker processes and short job locks (2 s, stalled checks every 1 s):
 *  - a worker SIGKILLed in the middle of a task: its task runs again on the other worker, and the
 *    step writes exactly the rows computed here (no row lost, none doubled);
 *  - a task whose thread always dies (KILN_FAULTS "exit" on every delivery of its attempt) is
 *    re-queued until the budget of worker losses is spent, and the step fails saying workers kept
 *    dying; the worker process itself survives.
 */
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runKiln, startKiln, tempDir, waitFor } from "../support/kiln-cli.ts";
import { expectedGroups } from "./fixtures/functions.ts";
import { groups, info, ledger, pipelineFile, status } from "./helpers.ts";
import { FAST_STALL, hasRedis, startRedis, startWorker } from "./support.ts";

describe.skipIf(!hasRedis)("worker loss", () => {
  it("re-runs the task of a SIGKILLed worker on the other worker without losing or doubling rows", async () => {
    const dir = tempDir("kiln-dist-kill-");
    const env = { KILN_TEST_LEDGER: dir, KILN_TEST_ROWS: "400", KILN_TEST_SHARDS: "4", KILN_TEST_ROW_MS: "15" };
    const redis = await startRedis();
    const workers = await Promise.all([startWorker(redis.url, [...FAST_STALL, "--steps", "1"], env), startWorker(redis.url, [...FAST_STALL, "--steps", "1"], env)]);
    const prefix = path.join(dir, "out");
    const run = startKiln(["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", redis.url], env);
    // The worker that coordinates the step keeps it; the other one is killed in the middle of a task.
    await waitFor("the step to start on a worker", () => workers.some((w) => w.stderr().includes("step numbers: started")), { timeoutMs: 60_000 });
    const coordinator = workers.find((w) => w.stderr().includes("step numbers: started"))!;
    const victim = workers.find((w) => w !== coordinator)!;
    await waitFor("a task running on the other worker", () => existsSync(path.join(dir, `running-${victim.pid}`)), { timeoutMs: 60_000 });
    victim.child.kill("SIGKILL");
    const res = await run.done;
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    expect(groups(prefix)).toEqual(expectedGroups(400));
    const tasks = ledger(dir, "tasks.log");
    const killedShard = tasks.filter((l) => l.endsWith(`pid=${victim.pid}`)).at(-1)!.replace(/ attempt=.*/, "");
    // The killed task started again, on the surviving worker, as the same attempt.
    expect(tasks.filter((l) => l.startsWith(killedShard)).map((l) => l.split(" pid=")[1])).toEqual([String(victim.pid), String(coordinator.pid)]);
    const recorded = info(prefix, "numbers").tasks ?? [];
    expect(recorded.filter((t) => t.stage === 0 && t.ok)).toHaveLength(4);
    expect(recorded.find((t) => `numbers shard=${t.shard}` === killedShard && t.stage === 0)?.worker).toBe(`${hostname()}:${coordinator.pid}`);
  }, 180_000);

  it("fails the step saying workers kept dying when a task's worker thread dies on every delivery", async () => {
    const dir = tempDir("kiln-dist-exit-");
    const env = { KILN_TEST_LEDGER: dir, KILN_TEST_ROWS: "80", KILN_TEST_SHARDS: "4", KILN_FAULTS: JSON.stringify([{ label: "numbers", stage: 0, shard: 1, action: "exit" }]) };
    const redis = await startRedis();
    const workers = await Promise.all([startWorker(redis.url, FAST_STALL, env), startWorker(redis.url, FAST_STALL, env)]);
    const prefix = path.join(dir, "out");
    const res = await runKiln(["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", redis.url, "--max-worker-losses", "4"], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/step 'numbers' failed: task numbers stage 0 shard 1 attempt 1: workers kept dying: the worker running it died, stalled or was lost 4 times \(last: worker thread failed running stage 0 shard 1/);
    expect(status(prefix, "numbers")).toBe("FAILED");
    // Shard 1's thread died exactly as often as the budget allows, each time before its rows (the fault fires first).
    const deaths = workers.flatMap((w) => w.stderr().match(/task numbers stage 0 shard 1 attempt 1: its thread died/g) ?? []);
    expect(deaths).toHaveLength(4);
    expect(ledger(dir, "tasks.log").filter((l) => l.startsWith("numbers shard=1 "))).toHaveLength(0);
    for (const w of workers) expect(w.child.exitCode).toBeNull();
  }, 180_000);
});
