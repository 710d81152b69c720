/**
 * The worker-thread executor (piscina), both sides: the pool on the coordinator and what each worker
 * runs (`runTaskInWorker`, loaded through worker.mjs). Tasks are sent as plain-JSON descriptors and
 * results come back msgpack-encoded in one buffer, copied rather than transferred: transferring
 * detaches the worker's ArrayBuffer, and the first detached buffer in a thread makes V8 throw away
 * the optimized code of every function that reads typed arrays there (the tokenizer, the parquet
 * reader, the shard writer), compiled again while the next task runs. Errors come back serialized
 * so that the coordinator rebuilds the same typed error.
 * A worker that dies in a task (an exit, a crash, its heap limit) makes that attempt fail with a
 * retryable error. Each worker's V8 old generation is capped at the task memory budget plus 256 MiB
 * (at least 384 MiB): without a cap V8 lets a busy worker's heap grow with garbage far beyond what it
 * holds live (measured: MinHash dedup on 474 MB peaked at 770 MB RSS uncapped, 585 MB capped at
 * 512 MiB, same CPU); the old generation's growth below a 64 MB floor starts no full collection in a
 * worker (heap-floor.ts, set while workers start). `sharedPoolRunner` gives every execution of a process the same
 * pool per size and budget (steps share it, so workers start, and import user modules, once per
 * run); idle workers exit after a minute and do not keep the process alive.
 */
import os from "node:os";
import { Piscina } from "piscina";
import { TaskError } from "../errors.ts";
import { packr } from "./exchange-files.ts";
import type { TaskRunner } from "./inline.ts";
import { createResolver } from "./resolve.ts";
import { runTask } from "./run-task.ts";
import { serializeError } from "./task.ts";
import { precompiledModules, type PrecompiledModules } from "./user-modules.ts";
import { workerBundle } from "./worker-bundle.ts";
import { withHeapFloor } from "./heap-floor.ts";
import type { TaskDescriptor, TaskResult } from "./task.ts";
import { threadExecArgv } from "../../util/thread-argv.ts";

const WORKER_ENTRY = new URL("./worker.mjs", import.meta.url).href;

/** What the pool sends a worker (worker.mjs): the task, and where its functions' TypeScript modules are precompiled. */
interface PoolTask {
  desc: TaskDescriptor;
  precompiledModules: PrecompiledModules;
}

let workerResolve: ReturnType<typeof createResolver> | undefined;

/** What a pool worker runs for each task (functions resolved by importing their modules; closures refused). */
export async function runTaskInWorker(desc: TaskDescriptor): Promise<unknown> {
  workerResolve ??= createResolver();
  let result: TaskResult;
  try {
    result = await runTask(desc, workerResolve);
  } catch (err) {
    result = { ok: false, error: serializeError(err) };
  }
  // packr.pack returns a view into msgpackr's shared output buffer: the copy gives the result a
  // buffer of its own and of its own size, which is what the message then clones.
  return new Uint8Array(packr.pack(result));
}
const MiB = 1024 * 1024;

/**
 * The worker thread running a task died (it exited, crashed, or ran out of its heap). Retryable;
 * the code tells a thread that died (KILN_WORKER_THREAD) from one that ran out of memory
 * (KILN_WORKER_OUT_OF_MEMORY), so that a remote worker can count a death against its own budget.
 */
export class WorkerThreadError extends TaskError {
  constructor(desc: TaskDescriptor, err: unknown, heapMb: number | undefined) {
    const outOfMemory = typeof err === "object" && err !== null && "code" in err && err.code === "ERR_WORKER_OUT_OF_MEMORY";
    const why = outOfMemory ? `it ran out of its ${heapMb} MiB heap` : err instanceof Error ? err.message : String(err);
    super(
      `worker thread failed running stage ${desc.stageId} shard ${desc.shard}: ${why}`,
      outOfMemory ? "raise memoryBudgetBytes: the worker heap limit follows it" : "the thread running the task ended; the task is retried on a new one",
      { retryable: true },
    );
    Object.defineProperty(this, "code", { value: outOfMemory ? "KILN_WORKER_OUT_OF_MEMORY" : "KILN_WORKER_THREAD" });
  }
}

/** The heap limit of a worker whose tasks get `budgetBytes` each: the budget plus room for rows, parquet row groups and loaded models. */
export function workerHeapMb(budgetBytes: number): number {
  return Math.max(384, Math.ceil(budgetBytes / MiB) + 256);
}

/**
 * Young generation of a pool worker: two 8 MB semi-spaces and a large-object space of the same
 * size, where V8's default for a worker is 16 MB semi-spaces. A task's rows in flight live for a
 * batch and die young either way, so the larger young generation bought no CPU, only resident
 * pages: 6 alternating pairs of normalize on 524 MB (with JSONL batches cut at 256 Ki characters,
 * io/jsonl-lines.ts) peaked at 450-484 MB (median 458) against 473-494 (480) with the same CPU
 * (32.7-36.3 s against 33.8-35.4); a tokenize worker on 60 MB 222-226 MB against 237-242, two
 * workers 288-304 MB against 338-349, CPU unchanged.
 */
export const WORKER_YOUNG_GENERATION_MB = 24;

export interface PoolOptions {
  threads?: number;
  /** Keep the workers alive while idle (default true); false lets them exit after a minute. */
  keepThreads?: boolean;
  /** The task memory budget the workers serve, which sets their heap limit (default: no limit of kiln's). */
  budgetBytes?: number;
}

export function createPoolRunner(opts: PoolOptions = {}): TaskRunner {
  const threads = Math.max(1, opts.threads ?? os.availableParallelism());
  const heapMb = opts.budgetBytes === undefined ? undefined : workerHeapMb(opts.budgetBytes);
  // Started on the first task, once the workers' precompiled engine is known (built on first use).
  let starting: Promise<{ pool: Piscina; bundled: boolean }> | undefined;
  let pool: Piscina | undefined;
  const start = async () => {
    const bundle = await workerBundle();
    const options = {
      filename: WORKER_ENTRY,
      minThreads: opts.keepThreads === false ? 0 : threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      workerData: { kilnWorkerBundle: bundle },
      execArgv: threadExecArgv(),
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, ...(heapMb ? { maxOldGenerationSizeMb: heapMb } : {}) },
    };
    // The first workers start in the constructor (minThreads), later ones in run when none is free.
    return { pool: withHeapFloor(() => pool, threads, () => (pool = new Piscina(options))), bundled: bundle !== null };
  };
  return {
    concurrency: threads,
    inProcess: true,
    async run(desc) {
      let encoded: unknown;
      try {
        starting ??= start();
        const { pool: running, bundled } = await starting;
        // Workers without the engine bundle load everything through tsx and would not use the files.
        const task: PoolTask = { desc, precompiledModules: bundled ? await precompiledModules(desc) : {} };
        encoded = await withHeapFloor(() => running, threads, () => running.run(task));
      } catch (err) {
        return { ok: false, error: serializeError(new WorkerThreadError(desc, err, heapMb)) };
      }
      if (!(encoded instanceof Uint8Array)) return { ok: false, error: serializeError(new Error("worker thread returned no result")) };
      const result: TaskResult = packr.unpack(encoded);
      return result;
    },
    async close() {
      const running = starting && (await starting).pool;
      await running?.destroy();
    },
  };
}

const shared = new Map<string, { runner: TaskRunner; close(): Promise<void> }>();

/**
 * The process's pool of `threads` workers (default every core) for tasks of `budgetBytes`, created on
 * first use; closing it is closeSharedPools' job.
 */
export function sharedPoolRunner(threads = os.availableParallelism(), budgetBytes?: number): TaskRunner {
  const size = Math.max(1, threads);
  const key = `${size}:${budgetBytes === undefined ? "-" : workerHeapMb(budgetBytes)}`;
  let entry = shared.get(key);
  if (!entry) {
    const pool = createPoolRunner({ threads: size, keepThreads: false, budgetBytes });
    entry = { runner: { concurrency: pool.concurrency, inProcess: true, run: (desc) => pool.run(desc), close: async () => {} }, close: () => pool.close() };
    shared.set(key, entry);
  }
  return entry.runner;
}

/** Stops every shared pool (the CLI calls this when a run ends). */
export async function closeSharedPools(): Promise<void> {
  const closing = [...shared.values()].map((e) => e.close().catch(() => {}));
  shared.clear();
  await Promise.all(closing);
}
