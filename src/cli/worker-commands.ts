/**
 * The commands and options of distributed execution: `kiln worker --redis URL` (a long-running
 * worker: task threads for Dataset tasks, step threads for whole steps), `kiln workers --redis URL`
 * (live workers and queue depths), and the `kiln run` options `--redis`, `--queue`,
 * `--max-worker-losses`, `--task-concurrency` and `--redis-timeout-ms`, with `openRedisRun`, which
 * turns them into the step executor a run hands its steps to. The distributed modules (BullMQ and
 * ioredis with them, about 0.16 CPU-s to load) are imported when a command talks to Redis, not when
 * `kiln` starts.
 */
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_MAX_WORKER_LOSSES, DEFAULT_QUEUE, DEFAULT_STALL } from "../distributed/defaults.ts";
import type { Driver } from "../distributed/driver.ts";
import { formatTable } from "./table.ts";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
}

export interface RedisRunFlags {
  redis?: string;
  queue?: string;
  maxWorkerLosses?: number;
  taskConcurrency?: number;
  redisTimeoutMs?: number;
}

/** Adds the distributed options to `kiln run`. */
export function addRedisRunFlags(cmd: Command): Command {
  return cmd
    .option("--redis <url>", "run the steps on kiln workers through Redis at this URL (redis://host:port)")
    .option("--queue <name>", "queue name shared with the workers", DEFAULT_QUEUE)
    .option("--max-worker-losses <n>", `times a task or step may lose its worker (died, stalled) before it fails (default ${DEFAULT_MAX_WORKER_LOSSES})`, positiveInt)
    .option("--task-concurrency <n>", "tasks of one stage queued at once (default 64)", positiveInt)
    .option("--redis-timeout-ms <ms>", "how long Redis may be unreachable before the run fails (default 60000)", positiveInt);
}

/** The driver of a run with `--redis`, or undefined for a local run. */
export async function openRedisRun(flags: RedisRunFlags, pipelineFile: string, prefix: string, log: (line: string) => void): Promise<Driver | undefined> {
  if (!flags.redis) return undefined;
  const [{ redisTarget }, { openDriver }] = await Promise.all([import("../distributed/connection.ts"), import("../distributed/driver.ts")]);
  return openDriver({
    target: redisTarget(flags.redis, flags.queue),
    pipelineFile,
    prefix,
    maxWorkerLosses: flags.maxWorkerLosses,
    taskConcurrency: flags.taskConcurrency,
    redisTimeoutMs: flags.redisTimeoutMs,
    log,
  });
}

interface WorkerFlags {
  redis: string;
  queue: string;
  concurrency?: number;
  steps?: number;
  lockMs?: number;
  stalledIntervalMs?: number;
}

/** Resolves on the first SIGINT or SIGTERM; a second one ends the process at once. */
function untilSignal(onSecond: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const handler = (signal: NodeJS.Signals) => {
      if (seen) return onSecond();
      seen = true;
      resolve(signal);
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
  });
}

export function registerWorkerCommands(program: Command, log: (line: string) => void): void {
  program
    .command("worker")
    .description("run kiln jobs (whole steps and Dataset tasks) from Redis until stopped (SIGTERM or Ctrl-C)")
    .requiredOption("--redis <url>", "Redis URL (redis://host:port)")
    .option("--queue <name>", "queue name shared with the drivers", DEFAULT_QUEUE)
    .option("--concurrency <n>", "task threads: Dataset tasks run at once (default 1)", positiveInt)
    .option("--steps <n>", "step threads: whole steps run at once (default 2)", positiveInt)
    .option("--lock-ms <ms>", `how long a job's lock lasts without renewal (default ${DEFAULT_STALL.lockMs})`, positiveInt)
    .option("--stalled-interval-ms <ms>", `how often expired locks are looked for (default ${DEFAULT_STALL.stalledIntervalMs})`, positiveInt)
    .action(async (flags: WorkerFlags) => {
      const [{ redisTarget }, { startWorker }] = await Promise.all([import("../distributed/connection.ts"), import("../distributed/worker.ts")]);
      const worker = await startWorker({
        target: redisTarget(flags.redis, flags.queue),
        threads: flags.concurrency,
        stepThreads: flags.steps,
        stall: { ...(flags.lockMs ? { lockMs: flags.lockMs } : {}), ...(flags.stalledIntervalMs ? { stalledIntervalMs: flags.stalledIntervalMs } : {}) },
        log,
      });
      const signal = await untilSignal(() => {
        log(`worker ${worker.name}: stopping now`);
        process.exit(130);
      });
      log(`worker ${worker.name}: ${signal}, finishing the jobs it runs (signal again to stop at once)`);
      await worker.stop();
      log(`worker ${worker.name}: stopped`);
    });

  program
    .command("workers")
    .description("list the live workers and the queue depths")
    .requiredOption("--redis <url>", "Redis URL (redis://host:port)")
    .option("--queue <name>", "queue name", DEFAULT_QUEUE)
    .option("--json", "print JSON")
    .action(async (flags: { redis: string; queue: string; json?: boolean }) => {
      const [{ bullConnection, openRedis, queueNames, redisTarget, whenConnected }, { listWorkers }, { Queue }] = await Promise.all([
        import("../distributed/connection.ts"),
        import("../distributed/presence.ts"),
        import("bullmq"),
      ]);
      const target = redisTarget(flags.redis, flags.queue);
      const redis = openRedis(target);
      const names = queueNames(target);
      const queues = [names.steps, names.tasks].map((n) => new Queue(n, { connection: bullConnection(target) }));
      try {
        await whenConnected(redis, target, 10_000);
        const workers = await listWorkers(redis, target);
        const depths = await Promise.all(queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts("waiting", "active", "delayed", "completed", "failed") })));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ workers, queues: depths }, null, 2)}\n`);
          return;
        }
        const now = Date.now();
        const rows = workers.map((w) => [w.host, w.pid, w.kiln, `${w.runningTasks}/${w.threads}`, `${w.runningSteps}/${w.stepThreads}`, w.tasksDone, w.stepsDone, `${((now - Date.parse(w.heartbeatAt)) / 1000).toFixed(1)} s ago`]);
        process.stdout.write(`${formatTable(["host", "pid", "code", "tasks running", "steps running", "tasks done", "steps done", "heartbeat"], rows)}\n\n`);
        process.stdout.write(`${formatTable(["queue", "waiting", "active", "delayed", "completed", "failed"], depths.map((d) => [d.queue, ...["waiting", "active", "delayed", "completed", "failed"].map((k) => d.counts[k] ?? 0)]))}\n`);
      } finally {
        await Promise.allSettled(queues.map((q) => q.close()));
        redis.disconnect();
      }
    });
}
