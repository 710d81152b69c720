/**
 * Sending jobs to one queue and waiting for their ends, for a driver (step jobs) or a step
 * coordinator (task jobs). An end is heard from BullMQ's event stream; every `sweepMs` the jobs
 * waited on for longer are also looked up, so an event missed while Redis was away is not waited
 * for forever. A job Redis lost (restarted without its data) is queued again under the same id and
 * counted as a worker loss. When Redis stays unreachable for `redisTimeoutMs`, every wait ends with
 * RedisUnavailableError, and so does every later submit.
 */
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { bullConnection, type RedisTarget } from "./connection.ts";
import { lossReason, RedisUnavailableError } from "./errors.ts";
import type { Presence } from "./presence.ts";

export type JobEnd =
  | { kind: "completed"; value: unknown }
  | { kind: "failed"; reason: string }
  | { kind: "unavailable"; error: RedisUnavailableError };

interface JobData {
  maxWorkerLosses: number;
  lossesBefore: number;
}

interface Waiter {
  name: string;
  data: JobData;
  since: number;
  settle(end: JobEnd): void;
  onProgress?(data: unknown): void;
}

export interface SubmitterOptions {
  target: RedisTarget;
  queue: string;
  redis: Redis;
  presence: Presence;
  /** Default 60 s. */
  redisTimeoutMs?: number;
  /** Default 5 s. */
  sweepMs?: number;
  /** Seconds a finished job stays in Redis (its result is read from there if its event was missed). */
  keepSeconds?: number;
}

export class JobSubmitter {
  readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly waiters = new Map<string, Waiter>();
  private readonly timer: NodeJS.Timeout;
  private downSince: number | undefined;
  private lastError = "connection closed";
  private broken: RedisUnavailableError | undefined;

  constructor(private readonly o: SubmitterOptions) {
    const connection = bullConnection(o.target);
    this.queue = new Queue(o.queue, { connection });
    this.events = new QueueEvents(o.queue, { connection });
    this.queue.on("error", () => undefined);
    this.events.on("error", () => undefined);
    this.events.on("completed", ({ jobId, returnvalue }) => this.end(jobId, { kind: "completed", value: returnvalue }));
    this.events.on("failed", ({ jobId, failedReason }) => this.end(jobId, { kind: "failed", reason: failedReason }));
    this.events.on("progress", ({ jobId, data }) => this.waiters.get(jobId)?.onProgress?.(data));
    o.redis.on("close", () => (this.downSince ??= Date.now()));
    o.redis.on("error", (err: Error) => (this.lastError = err.message));
    o.redis.on("ready", () => {
      this.downSince = undefined;
      void o.presence.touch().then(() => this.sweep(0));
    });
    const sweepMs = o.sweepMs ?? 5000;
    const sweepEvery = Math.max(1, Math.round(sweepMs / 1000));
    let ticks = 0;
    this.timer = setInterval(() => {
      this.watchRedis();
      if (++ticks % sweepEvery === 0) void this.sweep(sweepMs);
    }, 1000);
    this.timer.unref();
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  /** Queues a job under `jobId` and resolves with how it ended. */
  submit(name: string, data: JobData, jobId: string, onProgress?: (data: unknown) => void): Promise<JobEnd> {
    if (this.broken) return Promise.resolve({ kind: "unavailable", error: this.broken });
    return new Promise<JobEnd>((resolve) => {
      const waiter: Waiter = { name, data, since: Date.now(), onProgress, settle: resolve };
      this.waiters.set(jobId, waiter);
      void this.add(jobId, waiter);
    });
  }

  private async add(jobId: string, waiter: Waiter): Promise<void> {
    await this.o.presence.touch();
    try {
      await this.queue.add(waiter.name, waiter.data, {
        jobId,
        attempts: waiter.data.maxWorkerLosses + 1,
        removeOnComplete: { age: this.o.keepSeconds ?? 600 },
        removeOnFail: { age: (this.o.keepSeconds ?? 600) * 6 },
      });
    } catch (err) {
      // Redis went away mid-add: the sweep finds the job missing and queues it again.
      this.lastError = err instanceof Error ? err.message : String(err);
    }
  }

  private end(jobId: string, end: JobEnd): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    waiter.settle(end);
  }

  private watchRedis(): void {
    const timeout = this.o.redisTimeoutMs ?? 60_000;
    if (this.broken || this.downSince === undefined || Date.now() - this.downSince < timeout) return;
    this.broken = new RedisUnavailableError(this.o.target.url, Math.round((Date.now() - this.downSince) / 1000), this.lastError);
    for (const id of [...this.waiters.keys()]) this.end(id, { kind: "unavailable", error: this.broken });
  }

  /** Looks up the jobs waited on for longer than `olderThanMs`: ended ones end, lost ones are queued again. */
  private async sweep(olderThanMs: number): Promise<void> {
    if (this.downSince !== undefined) return;
    const now = Date.now();
    for (const [jobId, waiter] of [...this.waiters]) {
      if (now - waiter.since < olderThanMs) continue;
      try {
        const state = await this.queue.getJobState(jobId);
        if (state === "completed" || state === "failed") {
          const job = await this.queue.getJob(jobId);
          if (job) this.end(jobId, state === "completed" ? { kind: "completed", value: job.returnvalue } : { kind: "failed", reason: job.failedReason });
        } else if (state === "unknown" && this.waiters.get(jobId) === waiter) {
          this.requeueLost(jobId, waiter);
        }
      } catch {
        return; // Redis went away during the sweep; the next one looks again
      }
    }
  }

  private requeueLost(jobId: string, waiter: Waiter): void {
    const lossesBefore = waiter.data.lossesBefore + 1;
    if (lossesBefore >= waiter.data.maxWorkerLosses) {
      this.end(jobId, { kind: "failed", reason: lossReason(lossesBefore, "Redis lost the queued job; was it restarted without its data?") });
      return;
    }
    waiter.data = { ...waiter.data, lossesBefore };
    waiter.since = Date.now();
    void this.add(jobId, waiter);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const id of [...this.waiters.keys()]) this.end(id, { kind: "unavailable", error: new RedisUnavailableError(this.o.target.url, 0, "the submitter was closed") });
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}
