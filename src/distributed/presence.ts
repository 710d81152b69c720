/**
 * Who is alive, as Redis keys with a time to live. A submitter (the driver, or a step running on a
 * worker) keeps a presence key while it waits for its jobs: a worker that picks up a job whose
 * submitter's key has expired drops it, so the queued work of a killed driver does not run for
 * nothing. Each worker keeps a record (host, pid, code version, threads, jobs running, last
 * heartbeat) that `kiln workers` lists. Both are refreshed every third of their time to live, and
 * written again at once after Redis comes back empty.
 */
import type { Redis } from "ioredis";
import { presenceKey, workerKey, workerKeyPattern, type RedisTarget } from "./connection.ts";

export const PRESENCE_TTL_MS = 30_000;
export const WORKER_TTL_MS = 15_000;

/** Refreshes `write` every `everyMs` until stopped; failures (Redis away) are retried at the next beat. */
function beat(everyMs: number, write: () => Promise<unknown>): { stop(): void; now(): Promise<void> } {
  const run = () => write().then(() => undefined, () => undefined);
  const timer = setInterval(run, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), now: run };
}

export interface Presence {
  readonly owner: string;
  /** Writes the key now (before queueing jobs, and after Redis came back). */
  touch(): Promise<void>;
  close(): Promise<void>;
}

export function keepPresence(redis: Redis, target: RedisTarget, owner: string, ttlMs = PRESENCE_TTL_MS): Presence {
  const key = presenceKey(target, owner);
  const timer = beat(Math.floor(ttlMs / 3), () => redis.set(key, String(Date.now()), "PX", ttlMs));
  return {
    owner,
    touch: () => timer.now(),
    async close() {
      timer.stop();
      await redis.del(key).catch(() => undefined);
    },
  };
}

export async function submitterAlive(redis: Redis, target: RedisTarget, owner: string): Promise<boolean> {
  return (await redis.exists(presenceKey(target, owner))) === 1;
}

/** What `kiln workers` shows of one worker. */
export interface WorkerRecord {
  id: string;
  host: string;
  pid: number;
  kiln: string;
  threads: number;
  stepThreads: number;
  runningTasks: number;
  runningSteps: number;
  tasksDone: number;
  stepsDone: number;
  startedAt: string;
  heartbeatAt: string;
}

export function publishWorker(redis: Redis, target: RedisTarget, record: () => WorkerRecord, ttlMs = WORKER_TTL_MS): { stop(): Promise<void>; now(): Promise<void> } {
  const write = () => {
    const r = record();
    return redis.set(workerKey(target, r.id), JSON.stringify({ ...r, heartbeatAt: new Date().toISOString() }), "PX", ttlMs);
  };
  const timer = beat(Math.floor(ttlMs / 3), write);
  return {
    now: timer.now,
    async stop() {
      timer.stop();
      await redis.del(workerKey(target, record().id)).catch(() => undefined);
    },
  };
}

function isWorkerRecord(v: unknown): v is WorkerRecord {
  return typeof v === "object" && v !== null && "id" in v && "host" in v && "pid" in v && "heartbeatAt" in v;
}

/** Every live worker on the queue, by host then pid. */
export async function listWorkers(redis: Redis, target: RedisTarget): Promise<WorkerRecord[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", workerKeyPattern(target), "COUNT", 200);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  const values = keys.length ? await redis.mget(...keys) : [];
  const records: WorkerRecord[] = [];
  for (const v of values) {
    if (!v) continue;
    const parsed: unknown = JSON.parse(v);
    if (isWorkerRecord(parsed)) records.push(parsed);
  }
  return records.sort((a, b) => (a.host === b.host ? a.pid - b.pid : a.host < b.host ? -1 : 1));
}
