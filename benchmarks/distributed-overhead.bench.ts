/**
 * Overhead of a task through Redis: empty tasks per second (a Dataset of N one-item shards, counted)
 * on the local worker-thread pool of 2 threads, against the same tasks as BullMQ jobs run by one
 * `kiln worker --concurrency 2` on this machine, through a redis-server on loopback. Runs alternate
 * local, Redis; medians of KILN_BENCH_REPS (default 3).
 * Run: node --import tsx benchmarks/distributed-overhead.bench.ts   (writes benchmarks/results/distributed-overhead.json)
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { Dataset } from "../src/dataset/dataset.ts";
import { executeDataset } from "../src/dataset/exec/execute.ts";
import { createPoolRunner } from "../src/dataset/exec/pool.ts";
import { openRedis, queueNames, redisTarget } from "../src/distributed/connection.ts";
import { keepPresence } from "../src/distributed/presence.ts";
import { JobSubmitter } from "../src/distributed/submitter.ts";
import { createRemoteTaskRunner } from "../src/distributed/task-runner.ts";
import type { TaskRunner } from "../src/dataset/exec/inline.ts";
import { launchRedis } from "../test/support/redis-server.ts";
import { median } from "./support/cpu-timing.ts";
import { startBenchWorker } from "./support/kiln-workers.ts";

const TASKS = Number(process.env.KILN_BENCH_TASKS ?? 400);
const REPS = Number(process.env.KILN_BENCH_REPS ?? 3);

async function tasksPerSecond(runner: TaskRunner): Promise<number> {
  const ds = Dataset.fromItems(Array.from({ length: TASKS }, (_, i) => i), { shards: TASKS }).count();
  const started = performance.now();
  const { value } = await executeDataset(ds, { runner, progress: false });
  if (value !== TASKS) throw new Error(`counted ${value}, expected ${TASKS}`);
  return TASKS / ((performance.now() - started) / 1000);
}

const redis = await launchRedis();
const target = redisTarget(redis.url);
const worker = await startBenchWorker(redis.url, ["--concurrency", "2"]);
const client = openRedis(target);
const owner = `bench-${randomBytes(3).toString("hex")}`;
const presence = keepPresence(client, target, owner);
const submitter = new JobSubmitter({ target, queue: queueNames(target).tasks, redis: client, presence });
await submitter.ready();
const remote = createRemoteTaskRunner({ submitter, owner, maxWorkerLosses: 20, concurrency: 64 });
const pool = createPoolRunner({ threads: 2 });
const local: number[] = [];
const viaRedis: number[] = [];
try {
  await tasksPerSecond(pool); // warm-up: threads up, modules loaded
  await tasksPerSecond(remote);
  for (let r = 0; r < REPS; r++) {
    local.push(await tasksPerSecond(pool));
    viaRedis.push(await tasksPerSecond(remote));
  }
} finally {
  await pool.close();
  await submitter.close();
  await presence.close();
  client.disconnect();
  await worker.stop();
  await redis.kill();
}
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
} catch {}
const round = (x: number) => Math.round(x);
const result = {
  benchmark: "distributed-overhead",
  commit,
  date: new Date().toISOString(),
  machine: "2 cores, shared",
  node: process.version,
  tasks_per_run: TASKS,
  what: "empty tasks (one-item shards, counted); local: worker-thread pool of 2; redis: one kiln worker with 2 task threads, redis-server on loopback, up to 64 tasks queued at once",
  local_pool_tasks_per_s: { median: round(median(local)), runs: local.map(round) },
  redis_tasks_per_s: { median: round(median(viaRedis)), runs: viaRedis.map(round) },
  redis_ms_per_task: Number((1000 / median(viaRedis)).toFixed(2)),
  local_ms_per_task: Number((1000 / median(local)).toFixed(2)),
};
writeFileSync(path.join("benchmarks", "results", "distributed-overhead.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
