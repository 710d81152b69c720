/**
 * `kiln run --redis` with two real `kiln worker` processes and a real redis-server on loopback:
 *  - a step's Dataset tasks (a marking mapShard, a groupBy through the shared scratch folder, a
 *    write) run on both workers and give exactly the rows computed here; info.json records which
 *    worker ran which task, and the step ran on a worker;
 *  - two independent steps run at once on the two workers (their info.json times overlap; each
 *    holds its worker 6 s, so a step thread that starts cold under load still overlaps);
 *  - `kiln workers` lists both workers and the queue depths;
 *  - a task that always throws fails its step after 3 attempts, with its own error.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runKiln, tempDir } from "../support/kiln-cli.ts";
import { expectedGroups } from "./fixtures/functions.ts";
import { groups, info, ledger, pipelineFile, repeated } from "./helpers.ts";
import { hasRedis, startRedis, startWorker, type TestRedis, type TestWorker } from "./support.ts";

describe.skipIf(!hasRedis)("kiln run --redis with two workers", () => {
  const dir = tempDir("kiln-dist-runs-");
  const env = { KILN_TEST_LEDGER: dir, KILN_TEST_ROWS: "700", KILN_TEST_SHARDS: "8", KILN_TEST_ROW_MS: "2", KILN_TEST_SLEEP_MS: "6000" };
  let redis: TestRedis;
  let workers: TestWorker[];

  beforeAll(async () => {
    redis = await startRedis();
    workers = await Promise.all([startWorker(redis.url, ["--steps", "1"], env), startWorker(redis.url, ["--steps", "1"], env)]);
  }, 120_000);

  it("runs a step's Dataset tasks on both workers and writes the exact rows", async () => {
    const prefix = path.join(dir, "numbers");
    const res = await runKiln(["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", redis.url], env);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    expect(res.stderr).toContain("distributed: 2 workers");
    expect(groups(prefix)).toEqual(expectedGroups(700));
    const i = info(prefix, "numbers");
    expect(workers.map((w) => w.pid)).toContain(i.pid);
    // Every task of the three stages (8 map shards, 3 reduce-and-write shards) is recorded with its worker.
    const ran = i.tasks ?? [];
    expect(ran.filter((t) => t.ok).map((t) => `${t.stage}/${t.shard}`).sort()).toEqual([...Array.from({ length: 8 }, (_, s) => `0/${s}`), "1/0", "1/1", "1/2"].sort());
    const pids = new Set(ran.map((t) => Number(t.worker.split(":")[1])));
    expect([...pids].sort()).toEqual(workers.map((w) => w.pid).sort());
    expect(Number(i.counters["stage0.recordsIn"])).toBe(700);
    expect(repeated(ledger(dir, "tasks.log"))).toEqual([]);
    // The coordinator's progress lines reached the driver.
    expect(res.stderr).toMatch(/numbers: stage 0: 8\/8 shards/);
  }, 120_000);

  it("runs independent steps at once on different workers", async () => {
    const prefix = path.join(dir, "sleepers");
    const res = await runKiln(["run", pipelineFile("sleepers.ts"), "--prefix", prefix, "--redis", redis.url], env);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    const [a, b] = [info(prefix, "sleep/a"), info(prefix, "sleep/b")];
    expect(new Set([a.pid, b.pid])).toEqual(new Set(workers.map((w) => w.pid)));
    expect(Date.parse(a.startedAt)).toBeLessThan(Date.parse(b.endedAt));
    expect(Date.parse(b.startedAt)).toBeLessThan(Date.parse(a.endedAt));
  }, 60_000);

  it("lists the live workers and the queues", async () => {
    const res = await runKiln(["workers", "--redis", redis.url]);
    expect(res.code, res.stderr).toBe(0);
    for (const w of workers) expect(res.stdout).toMatch(new RegExp(`\\b${w.pid}\\b`));
    expect(res.stdout).toContain("kiln-steps");
    expect(res.stdout).toContain("kiln-tasks");
    const json = await runKiln(["workers", "--redis", redis.url, "--json"]);
    expect(JSON.parse(json.stdout).workers).toHaveLength(2);
  }, 60_000);
});

describe.skipIf(!hasRedis)("a task whose code always fails", () => {
  it("fails its step after 3 attempts with its own error", async () => {
    const dir = tempDir("kiln-dist-throw-");
    const faults = JSON.stringify([1, 2, 3].map((attempt) => ({ label: "numbers", stage: 0, shard: 2, attempt, action: "throw" })));
    const env = { KILN_TEST_LEDGER: dir, KILN_TEST_ROWS: "80", KILN_FAULTS: faults };
    const redis = await startRedis();
    await Promise.all([startWorker(redis.url, [], env), startWorker(redis.url, [], env)]);
    const prefix = path.join(dir, "out");
    const res = await runKiln(["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", redis.url], env);
    expect(res.code).toBe(1);
    expect(res.stderr.match(/stage 0 shard 2: attempt \d of 3 failed, retrying: injected fault/g)).toHaveLength(2);
    expect(res.stderr).toMatch(/step 'numbers' failed: injected fault \(KILN_FAULTS\) in numbers stage 0 shard 2 attempt 3/);
    expect(info(prefix, "numbers").error?.message).toContain("attempt 3");
  }, 120_000);
});
