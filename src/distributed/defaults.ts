/**
 * The defaults of distributed execution that the command line shows in its help: the queue name,
 * the stalled-job settings and the budget of worker losses. They live apart from connection.ts so
 * that `kiln` can describe its options without loading ioredis and BullMQ, which it does only for a
 * command that talks to Redis.
 */

export const DEFAULT_QUEUE = "kiln";

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
