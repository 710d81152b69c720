/**
 * Physical operator `items`: inline JSON rows held in the plan (`Dataset.fromItems`), spread over a
 * fixed number of shards in order. Each task gets its slice and the index of its first row, so an
 * error names the row.
 */
import { moveCursor } from "../row/runtime.ts";
import type { JsonValue } from "../fn.ts";
import type { ItemsOp } from "../logical.ts";
import type { TaskEnv } from "../exec/context.ts";
import type { ItemsInput, Stage } from "../plan/physical.ts";
import type { ItemsTask } from "../exec/task.ts";


const ITEM_BATCH = 1024;

export const itemsOperator = {
  plan(op: ItemsOp): Pick<Stage, "input" | "shards"> {
    return { input: { kind: "items", items: op.items, shards: op.shards }, shards: op.shards };
  },

  tasks(input: ItemsInput): ItemsTask[] {
    const per = Math.ceil(input.items.length / input.shards);
    return Array.from({ length: input.shards }, (_, s) => ({ kind: "items", items: input.items.slice(s * per, (s + 1) * per), firstIndex: s * per }));
  },

  async *open(task: ItemsTask, env: TaskEnv): AsyncIterable<unknown[]> {
    for (let i = 0; i < task.items.length; i += ITEM_BATCH) {
      const rows = task.items.slice(i, i + ITEM_BATCH);
      moveCursor(env.cursor, { source: `inline items of shard ${env.desc.shard}`, first: task.firstIndex + i + 1, unit: "row" });
      env.counters.recordsIn += rows.length;
      yield rows;
    }
  },

  describe(input: ItemsInput): string {
    return `${input.items.length} inline rows`;
  },
};
