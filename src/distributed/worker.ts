/**
 * `kiln worker`: a long-running process that takes jobs from the queues and runs them on worker
 * threads, so that its own event loop stays free to renew job locks and beat its heartbeat.
 * Dataset task jobs run on a pool of `threads` task threads (the same runner as the local pool);
 * step jobs run one per step thread (at most `stepThreads` at once), each coordinating its own
 * Dataset tasks through the tasks queue. A task thread that dies is a worker loss: the job is
 * thrown back to the queue, under its budget. Stopping (SIGTERM, SIGINT) lets the jobs running
 * finish first; a second signal stops at once.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { MessageChannel } from "node:worker_threads";
import { Worker, type Job } from "bullmq";
import { Piscina } from "piscina";
import { defaultMemoryBudget } from "../dataset/exec/execute.ts";
import { packr } from "../dataset/exec/exchange-files.ts";
import { createPoolRunner } from "../dataset/exec/pool.ts";
import { withHeapFloor } from "../dataset/exec/heap-floor.ts";
import { serializeError } from "../dataset/exec/task.ts";
import { checkLosses, refusal, submitterGone } from "./admission.ts";
import { BULL_MAX_STALLED, bullConnection, DEFAULT_STALL, openRedis, queueNames, type RedisTarget, type StallSettings } from "./connection.ts";
import { kilnFingerprint } from "./fingerprint.ts";
import { isStepJob, isTaskJob, type JobAnswer, type RemoteOutcome, type StepJobData, type TaskJobData } from "./payloads.ts";
import { publishWorker, type WorkerRecord } from "./presence.ts";
import type { StepThreadInput } from "./step-job.ts";
import { describeTask } from "./task-runner.ts";
import { threadExecArgv } from "../util/thread-argv.ts";

export interface WorkerOptions {
  target: RedisTarget;
  /** Task threads (default 1). */
  threads?: number;
  /** Step jobs run at once (default 2). */
  stepThreads?: number;
  stall?: Partial<StallSettings>;
  log(line: string): void;
}

export interface RunningWorker {
  readonly id: string;
  readonly name: string;
  /** Stops taking jobs; waits for the running ones unless `force`. */
  stop(force?: boolean): Promise<void>;
}

const STEP_ENTRY = new URL("./step-thread.mjs", import.meta.url).href;
/** How often a step's log lines are sent to the driver. */
const LOG_FLUSH_MS = 250;

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const threads = Math.max(1, o.threads ?? 1);
  const stepThreads = Math.max(1, o.stepThreads ?? 2);
  const stall = { ...DEFAULT_STALL, ...o.stall };
  const name = `${hostname()}:${process.pid}`;
  const id = `${hostname().replace(/[^A-Za-z0-9-]/g, "_")}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const redis = openRedis(o.target);
  const tasks = createPoolRunner({ threads, budgetBytes: defaultMemoryBudget(threads) });
  const steps = new Piscina({ filename: STEP_ENTRY, minThreads: 0, maxThreads: stepThreads, idleTimeout: 60_000, concurrentTasksPerWorker: 1, execArgv: threadExecArgv() });
  const stats = { runningTasks: 0, runningSteps: 0, tasksDone: 0, stepsDone: 0 };
  const startedAt = new Date().toISOString();
  const record = (): WorkerRecord => ({ id, host: hostname(), pid: process.pid, kiln: kilnFingerprint(), threads, stepThreads, ...stats, startedAt, heartbeatAt: startedAt });
  const answer = (started: number, extra: Partial<JobAnswer>): JobAnswer => ({ worker: name, startedAt: new Date(started).toISOString(), endedAt: new Date().toISOString(), ...extra });

  /** The job's data when this worker may run it; otherwise the answer to give (dropped, or refused with why). */
  async function admit<D extends TaskJobData | StepJobData>(job: Job, guard: (v: unknown) => v is D, refuse: (data: D, why: Error) => Partial<JobAnswer>): Promise<{ data: D } | { answer: JobAnswer }> {
    const data: unknown = job.data;
    if (!guard(data)) throw new Error(`job ${job.id} is not a kiln ${job.name} job`);
    checkLosses(job, data);
    const started = Date.now();
    if (await submitterGone(redis, o.target, data.owner)) return { answer: answer(started, { dropped: `submitter ${data.submitter} is gone` }) };
    const refused = await refusal(name, data);
    return refused ? { answer: answer(started, refuse(data, refused)) } : { data };
  }

  async function runTaskJob(job: Job): Promise<JobAnswer> {
    const admitted = await admit(job, isTaskJob, (data, why) => {
      o.log(`refused task ${describeTask(data.desc)}: ${why.message}`);
      return { packed: packr.pack({ ok: false, error: serializeError(why) }).toString("base64") };
    });
    if ("answer" in admitted) return admitted.answer;
    const { data } = admitted;
    const started = Date.now();
    stats.runningTasks++;
    try {
      const result = await tasks.run({ ...data.desc, deliveryTag: randomBytes(3).toString("hex") });
      // A task thread that died is a worker loss, not the task's failure: the queue runs it again.
      if (!result.ok && result.error.code === "KILN_WORKER_THREAD") {
        o.log(`task ${describeTask(data.desc)}: its thread died (${result.error.message}); back to the queue`);
        throw new Error(result.error.message);
      }
      return answer(started, { packed: packr.pack(result).toString("base64") });
    } finally {
      stats.runningTasks--;
      stats.tasksDone++;
    }
  }

  async function runStepJob(job: Job): Promise<JobAnswer> {
    const admitted = await admit(job, isStepJob, (data, why) => {
      o.log(`refused step ${data.name}: ${why.message}`);
      return { outcome: { state: "failed", outputPath: data.run.prefix, error: serializeError(why), durationMs: 0 } };
    });
    if ("answer" in admitted) return admitted.answer;
    const { data } = admitted;
    const started = Date.now();
    o.log(`step ${data.name}: started (from ${data.submitter})`);
    stats.runningSteps++;
    const { port1, port2 } = new MessageChannel();
    let lines: string[] = [];
    const flush = () => {
      if (!lines.length) return;
      void job.updateProgress({ lines }).catch(() => undefined);
      lines = [];
    };
    port1.on("message", (line: string) => lines.push(line));
    const timer = setInterval(flush, LOG_FLUSH_MS);
    try {
      const input: StepThreadInput = { data, port: port2, target: o.target, worker: name };
      // A step thread that starts for this job gets the pool workers' old-generation floor.
      const outcome: RemoteOutcome = await withHeapFloor(() => steps, stepThreads, () => steps.run(input, { transferList: [port2] }));
      o.log(`step ${data.name}: ${outcome.state} in ${(outcome.durationMs / 1000).toFixed(1)} s`);
      return answer(started, { outcome });
    } finally {
      clearInterval(timer);
      flush();
      port1.close();
      stats.runningSteps--;
      stats.stepsDone++;
    }
  }

  const queues = queueNames(o.target);
  const settings = {
    connection: bullConnection(o.target),
    name,
    lockDuration: stall.lockMs,
    stalledInterval: stall.stalledIntervalMs,
    maxStalledCount: BULL_MAX_STALLED,
  };
  const taskWorker = new Worker(queues.tasks, runTaskJob, { ...settings, concurrency: threads });
  const stepWorker = new Worker(queues.steps, runStepJob, { ...settings, concurrency: stepThreads });
  for (const w of [taskWorker, stepWorker]) {
    w.on("error", (err) => o.log(`queue error: ${err.message}`));
    w.on("failed", (job, err) => {
      if (job) o.log(`job ${job.id} lost its worker or ran out of its budget: ${err.message}`);
    });
  }
  await Promise.all([taskWorker.waitUntilReady(), stepWorker.waitUntilReady()]);
  const heartbeat = publishWorker(redis, o.target, record);
  await heartbeat.now();
  o.log(`worker ${name} ready: ${threads} task thread${threads === 1 ? "" : "s"}, ${stepThreads} step thread${stepThreads === 1 ? "" : "s"}, queue ${o.target.queue} on ${o.target.url}, kiln ${kilnFingerprint()}`);

  let stopping: Promise<void> | undefined;
  return {
    id,
    name,
    stop(force = false) {
      stopping ??= (async () => {
        await Promise.all([taskWorker.close(force), stepWorker.close(force)]);
        await heartbeat.stop();
        await Promise.allSettled([tasks.close(), steps.destroy()]);
        redis.disconnect();
      })();
      return stopping;
    },
  };
}
