/**
 * Where the queues live and how kiln talks to Redis: the `--redis` URL and queue name checked, the
 * BullMQ queue names (`<queue>-tasks` for Dataset tasks, `<queue>-steps` for whole steps), the keys
 * kiln keeps beside them (submitters' presence, live workers), the connection options, and the
 * stalled-job settings every worker uses (DESIGN.md gives the numbers and why).
 */
import { Redis } from "ioredis";
import { RedisUnavailableError, RedisUrlError } from "./errors.ts";

export interface RedisTarget {
  url: string;
  queue: string;
}

export const DEFAULT_QUEUE = "kiln";

/** Checks a `--redis` URL and queue name, naming what is wrong. */
export function redisTarget(url: string, queue = DEFAULT_QUEUE): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError(`--redis ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new RedisUrlError(`--redis ${url} is not a redis:// or rediss:// URL`);
  if (!/^[A-Za-z0-9_.-]+$/.test(queue)) throw new RedisUrlError(`queue name ${JSON.stringify(queue)} is not usable`);
  return { url, queue };
}

export function queueNames(target: RedisTarget): { tasks: string; steps: string } {
  return { tasks: `${target.queue}-tasks`, steps: `${target.queue}-steps` };
}

/** Redis key of a submitter's presence (a driver or a step coordinator): jobs of a submitter gone are dropped. */
export const presenceKey = (target: RedisTarget, owner: string) => `kiln:${target.queue}:owner:${owner}`;
/** Redis key of a live worker's record. */
export const workerKey = (target: RedisTarget, id: string) => `kiln:${target.queue}:worker:${id}`;
export const workerKeyPattern = (target: RedisTarget) => `kiln:${target.queue}:worker:*`;

/** Reconnect quickly after a Redis restart: 100 ms, growing to at most 2 s between tries. */
const retryStrategy = (times: number) => Math.min(2000, 100 * times);

/** BullMQ connection options: commands wait while Redis is away (workers need that), reconnects are quick. */
export function bullConnection(target: RedisTarget): { url: string; maxRetriesPerRequest: null; retryStrategy: (times: number) => number } {
  return { url: target.url, maxRetriesPerRequest: null, retryStrategy };
}

/** A plain client for kiln's own keys; its commands fail fast while Redis is away. */
export function openRedis(target: RedisTarget): Redis {
  const client = new Redis(target.url, { maxRetriesPerRequest: 1, retryStrategy, enableOfflineQueue: false, lazyConnect: false });
  // Errors surface through the commands that hit them; an 'error' listener keeps ioredis from printing each reconnect.
  client.on("error", () => undefined);
  return client;
}

/** Resolves when `redis` is connected; fails after `timeoutMs` naming the URL. */
export async function whenConnected(redis: Redis, target: RedisTarget, timeoutMs: number): Promise<void> {
  let lastError = "no answer";
  redis.on("error", (err: Error) => (lastError = err.message));
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (redis.status === "ready" && (await redis.ping().catch(() => "")) === "PONG") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  redis.disconnect();
  throw new RedisUnavailableError(target.url, Math.round(timeoutMs / 1000), lastError);
}

/**
 * Stalled-job settings of every worker. A job's lock lasts LOCK_MS and is renewed every LOCK_MS/2
 * from the worker's main thread, which never runs a job itself; a job whose lock has expired is
 * found by some worker's stalled check, run every STALLED_INTERVAL_MS, and put back in the queue. So
 * a killed worker's job runs again within LOCK_MS + STALLED_INTERVAL_MS. BullMQ's own stall limit is
 * set out of the way: kiln's budget of worker losses travels with each job and counts stalls and
 * thread deaths together.
 */
export interface StallSettings {
  lockMs: number;
  stalledIntervalMs: number;
}

export const DEFAULT_STALL: StallSettings = { lockMs: 30_000, stalledIntervalMs: 15_000 };
export const BULL_MAX_STALLED = 1_000_000;

/** Worker losses a task or step survives by default before it fails (`--max-worker-losses`). */
export const DEFAULT_MAX_WORKER_LOSSES = 20;
