/**
 * The inline executor: runs tasks one at a time on the calling thread. It is the reference the
 * pool is tested against, and the only executor that runs closures.
 */
import type { AnyFunction } from "../fn.ts";
import type { TaskPlacement } from "../../util/task-run.ts";
import { createResolver } from "./resolve.ts";
import { runTask } from "./run-task.ts";
import { serializeError } from "./task.ts";
import type { TaskDescriptor, TaskResult } from "./task.ts";

/** What the coordinator needs from an executor. Errors come back as results, not rejections. */
export interface TaskRunner {
  readonly concurrency: number;
  /**
   * The runner's tasks run in this process (worker threads): a stage of one task then runs on the
   * coordinator's own thread instead, saving the hop and a second copy of whatever its functions load.
   */
  readonly inProcess?: boolean;
  /**
   * The runner's tasks run in other processes, possibly on other machines: the execution's
   * intermediate files must be in a folder every worker reaches, and spills stay on the disk of the
   * machine running the task.
   */
  readonly remote?: boolean;
  /**
   * `thrown`: the original error when the task ran in this thread (richer than the serialized one);
   * `placement`: which worker ran it, from runners of other processes.
   */
  run(desc: TaskDescriptor): Promise<TaskResult & { thrown?: unknown; placement?: TaskPlacement }>;
  close(): Promise<void>;
}

export function createInlineRunner(closures: ReadonlyMap<string, AnyFunction> = new Map()): TaskRunner {
  const resolve = createResolver(closures);
  return {
    concurrency: 1,
    async run(desc) {
      try {
        return await runTask(desc, resolve);
      } catch (err) {
        return { ok: false, error: serializeError(err), thrown: err };
      }
    },
    async close() {},
  };
}
