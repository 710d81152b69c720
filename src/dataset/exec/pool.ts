/**
 * The worker-thread executor (piscina). Each worker loads the TypeScript task runner through
 * worker.mjs; tasks are sent as plain-JSON descriptors and results come back as one moved buffer.
 * A worker that dies in a task (an exit, a crash) makes that attempt fail with a retryable error.
 * `sharedPoolRunner` gives every execution of a process the same pool per size (steps share it, so
 * workers start, and import user modules, once per run); idle workers exit after a minute and do not
 * keep the process alive.
 */
import os from "node:os";
import { Piscina } from "piscina";
import { packr } from "./exchange-files.ts";
import type { TaskRunner } from "./inline.ts";
import { serializeError } from "./task.ts";
import type { TaskResult } from "./task.ts";

const WORKER_ENTRY = new URL("./worker.mjs", import.meta.url).href;

export function createPoolRunner(opts: { threads?: number; keepThreads?: boolean } = {}): TaskRunner {
  const threads = Math.max(1, opts.threads ?? os.availableParallelism());
  const pool = new Piscina({ filename: WORKER_ENTRY, minThreads: opts.keepThreads === false ? 0 : threads, maxThreads: threads, idleTimeout: 60_000 });
  return {
    concurrency: threads,
    inProcess: true,
    async run(desc) {
      let encoded: unknown;
      try {
        encoded = await pool.run(desc);
      } catch (err) {
        return { ok: false, error: serializeError(new Error(`worker thread failed running stage ${desc.stageId} shard ${desc.shard}: ${err instanceof Error ? err.message : String(err)}`)) };
      }
      if (!(encoded instanceof Uint8Array)) return { ok: false, error: serializeError(new Error("worker thread returned no result")) };
      const result: TaskResult = packr.unpack(encoded);
      return result;
    },
    async close() {
      await pool.destroy();
    },
  };
}

const shared = new Map<number, { runner: TaskRunner; close(): Promise<void> }>();

/** The process's pool of `threads` workers (default every core), created on first use; closing it is closeSharedPools' job. */
export function sharedPoolRunner(threads = os.availableParallelism()): TaskRunner {
  const size = Math.max(1, threads);
  let entry = shared.get(size);
  if (!entry) {
    const pool = createPoolRunner({ threads: size, keepThreads: false });
    entry = { runner: { concurrency: pool.concurrency, inProcess: true, run: (desc) => pool.run(desc), close: async () => {} }, close: () => pool.close() };
    shared.set(size, entry);
  }
  return entry.runner;
}

/** Stops every shared pool (the CLI calls this when a run ends). */
export async function closeSharedPools(): Promise<void> {
  const closing = [...shared.values()].map((e) => e.close().catch(() => {}));
  shared.clear();
  await Promise.all(closing);
}
