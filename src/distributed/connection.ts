/**
 * Where the queues live and how kiln talks to Redis: the `--redis` URL and queue name checked, the
 * BullMQ queue names (`<queue>-tasks` for Dataset tasks, `<queue>-steps` for whole steps), the keys
 * kiln keeps beside them (submitters' presence, live workers) and the connection options; it passes
 * on the defaults of defaults.ts (queue name, stalled-job settings, worker losses).
 */
import { Redis } from "ioredis";
import { DEFAULT_QUEUE } from "./defaults.ts";
import { RedisUnavailableError, RedisUrlError } from "./errors.ts";

export { BULL_MAX_STALLED, DEFAULT_MAX_WORKER_LOSSES, DEFAULT_QUEUE, DEFAULT_STALL, type StallSettings } from "./defaults.ts";

export interface RedisTarget {
  url: string;
  queue: string;
}

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
