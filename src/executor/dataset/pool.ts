/**
 * The worker-thread executor (piscina). Each worker loads the TypeScript task runner through
 * worker.mjs; tasks are sent as plain-JSON descriptors and results come back as one moved buffer.
 * Default size: every core (`os.availableParallelism()`).
 */
import os from "node:os";
import { Piscina } from "piscina";
import type { TaskResult } from "../../ops/task.ts";
import { packr } from "./exchange.ts";
import type { TaskRunner } from "./inline.ts";

const WORKER_ENTRY = new URL("./worker.mjs", import.meta.url).href;

export function createPoolRunner(opts: { threads?: number } = {}): TaskRunner {
  const threads = Math.max(1, opts.threads ?? os.availableParallelism());
  const pool = new Piscina({ filename: WORKER_ENTRY, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  return {
    concurrency: threads,
    async run(desc) {
      const encoded = (await pool.run(desc)) as Uint8Array;
      return packr.unpack(encoded) as TaskResult;
    },
    async close() {
      await pool.destroy();
    },
  };
}
