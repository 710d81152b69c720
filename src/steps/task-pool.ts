/**
 * A step's worker-thread task pool: runs a batch of plain-JSON tasks on a piscina pool whose worker
 * module exports them by name, or inline (in the step's thread) when there is one task or one
 * thread. The pool starts on first use, is shared by every batch of the step, and is destroyed when
 * the step's signal aborts (lease lost, run stopped) or when the step calls `destroy()`.
 */
import { Piscina } from "piscina";

export interface TaskPool {
  /** Runs every task; `name` is the worker module's export, `inline` the same function in this thread. */
  runAll<I, O>(tasks: I[], name: string, inline: (task: I) => Promise<O>): Promise<O[]>;
  destroy(): Promise<void>;
}

export function createTaskPool(workerUrl: URL, threads: number, signal: AbortSignal): TaskPool {
  let pool: Piscina | undefined;
  return {
    async runAll<I, O>(tasks: I[], name: string, inline: (task: I) => Promise<O>): Promise<O[]> {
      if (threads <= 1 || tasks.length <= 1) {
        const out: O[] = [];
        for (const t of tasks) out.push(await inline(t));
        return out;
      }
      if (!pool) {
        pool = new Piscina({ filename: workerUrl.href, maxThreads: threads, minThreads: Math.min(threads, tasks.length) });
        signal.addEventListener("abort", () => void pool?.destroy(), { once: true });
      }
      return Promise.all(tasks.map((t) => pool!.run(t, { name }) as Promise<O>));
    },
    async destroy(): Promise<void> {
      await pool?.destroy();
      pool = undefined;
    },
  };
}
