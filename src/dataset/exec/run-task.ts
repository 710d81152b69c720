/**
 * Runs one task descriptor: open the shard's input, push it through the stage's fused chain, and
 * hand the result to the stage's output; the physical operators (src/dataset/physical) do the
 * reading and writing. The same function runs in the inline executor, inside pool workers and on a
 * remote worker. Faults can be injected for tests through KILN_FAULTS (see faults.ts).
 */
import type { UserContext } from "../fn.ts";
import { openInput, runOutput } from "../physical/index.ts";
import type { Cursor, Resolver } from "../row/runtime.ts";
import { positionOf } from "../row/runtime.ts";
import { buildChain } from "./chain.ts";
import type { TaskEnv } from "./context.ts";
import { injectFault } from "./faults.ts";
import { emptyCounters } from "./task.ts";
import type { TaskDescriptor, TaskSuccess } from "./task.ts";

/** Unique to (execution, attempt, delivery): part of every temporary name the task writes. */
export function attemptTag(desc: TaskDescriptor): string {
  const tag = `${desc.executionId}-a${desc.attempt}`;
  return desc.deliveryTag ? `${tag}-${desc.deliveryTag}` : tag;
}

export async function runTask(desc: TaskDescriptor, resolve: Resolver): Promise<TaskSuccess> {
  injectFault(desc);
  const counters = emptyCounters();
  const cursor: Cursor = { source: "", first: 1, index: 0, unit: "row", known: false };
  const ctx: UserContext = {
    shard: desc.shard,
    shardCount: desc.shardCount,
    attempt: desc.attempt,
    counters: {
      increment(name: string, by = 1) {
        counters.user[name] = (counters.user[name] ?? 0) + by;
      },
    },
    position: () => positionOf(cursor),
  };
  const env: TaskEnv = { ctx, cursor, resolve, desc, counters, attemptTag: attemptTag(desc) };
  const batches = await buildChain(desc.ops, openInput(desc.input, env), env, desc.sides);
  return runOutput(desc.output, batches, env);
}
