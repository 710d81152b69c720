/**
 * The old-generation floor of the threads kiln starts (pool workers, distributed step threads): V8's
 * `--initial-old-space-size`, which V8 reads when it creates an isolate (a Worker's resourceLimits
 * has no field for it). Below the floor the old generation's growth starts no full collection, so a
 * thread with a small live heap is not marked over and over: under the worker heap limit V8 grows the
 * old generation by only about 1.4x after a full collection, and a tokenize worker (about 12 MB live)
 * ran 17 mark-compacts in 60 MB against 2 with the floor. Heaps above it are paced as before.
 *
 * The flag is process-wide and changing it changes V8's flag hash, and Node refuses its code cache
 * for its own modules while the hash differs from the one it was built with: every built-in module an
 * isolate loads in that time is compiled from source. So kiln sets the flag only while one of its
 * threads starts and puts it back once the thread is online (its isolate exists by then): the
 * thread's own bootstrap still compiles, but what it loads later, and the main thread, heartbeat
 * threads and threads the user's code starts, keep the cache and V8's own sizing. Where node was
 * started with the flag, that value applies to every isolate and kiln leaves it alone.
 */
import v8 from "node:v8";
import type { Worker } from "node:worker_threads";

/** The floor, in MB. */
export const WORKER_INITIAL_OLD_SPACE_MB = 64;

const setOnCommandLine = process.execArgv.some((arg) => /^--initial[-_]old[-_]space[-_]size\b/.test(arg));
let holds = 0;

/** Sets the flag (the first hold); the returned release puts V8's default (0) back when the last hold ends. */
function holdFloor(): () => void {
  if (setOnCommandLine) return () => {};
  if (holds++ === 0) v8.setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--holds === 0) v8.setFlagsFromString("--initial-old-space-size=0");
  };
}

/** What kiln's thread pools (piscina) show of their threads. */
export interface ThreadPool {
  readonly threads: readonly Worker[];
}

/**
 * Calls `start`, which may start threads of `pool` synchronously (piscina starts a worker inside
 * `run` when none is free and fewer than `maxThreads` run, and its first ones in its constructor),
 * with the floor set; each thread that `start` started holds it until it is online or has exited.
 * `pool` is read again after `start` returns, so it may be what `start` builds.
 */
export function withHeapFloor<T>(pool: () => ThreadPool | undefined, maxThreads: number, start: () => T): T {
  const running = pool()?.threads ?? [];
  // A full pool starts no thread (the common case: every task after the first few).
  if (running.length >= maxThreads) return start();
  const before = new Set(running);
  const release = holdFloor();
  try {
    return start();
  } finally {
    for (const worker of pool()?.threads ?? []) {
      if (before.has(worker)) continue;
      const started = holdFloor();
      worker.once("online", started);
      worker.once("exit", started);
    }
    release();
  }
}
