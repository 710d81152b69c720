/**
 * Physical operators that end a plan by gathering to the coordinator: `collect` (the rows
 * themselves, msgpack-encoded per shard and concatenated in shard order), `count` (a partial count
 * per shard, summed) and `fold` (reduce: a local fold per shard from the identity, then a global
 * fold of the partial values with `combine` in shard order on the coordinator).
 */
import type { JsonValue, FnSpec, UserContext } from "../fn.ts";
import { describeFn } from "../plan/describe.ts";
import type { TaskEnv } from "../exec/context.ts";
import { packr } from "../exec/exchange-files.ts";
import type { Resolver } from "../row/runtime.ts";
import { userError } from "../row/runtime.ts";
import type { CountOutput, FoldOutput } from "../plan/physical.ts";
import type { FoldTaskOutput, TaskSuccess } from "../exec/task.ts";


export const collectOperator = {
  async run(batches: AsyncIterable<unknown[]>, env: TaskEnv): Promise<TaskSuccess> {
    const rows: unknown[] = [];
    for await (const batch of batches) for (const row of batch) rows.push(row);
    env.counters.recordsOut = rows.length;
    // An own ArrayBuffer, so the pool can move it to the coordinator instead of copying.
    const packed = new Uint8Array(packr.pack(rows));
    env.counters.bytesOut = packed.length;
    return { ok: true, counters: env.counters, rows: packed };
  },

  result(results: TaskSuccess[]): unknown[] {
    return results.flatMap((r): unknown[] => (r.rows ? packr.unpack(r.rows) : []));
  },

  describe(): string {
    return "collect rows";
  },
};

export const countOperator = {
  async run(batches: AsyncIterable<unknown[]>, env: TaskEnv): Promise<TaskSuccess> {
    let n = 0;
    for await (const batch of batches) n += batch.length;
    env.counters.recordsOut = n;
    return { ok: true, counters: env.counters, value: n };
  },

  result(results: TaskSuccess[]): number {
    return results.reduce((sum, r) => sum + (typeof r.value === "number" ? r.value : 0), 0);
  },

  describe(out: CountOutput): string {
    return `partial count per shard (count #${out.opId})`;
  },
};

export const foldOperator = {
  tasks(out: FoldOutput, shardCount: number): FoldTaskOutput[] {
    return new Array(shardCount).fill({ kind: "fold", opId: out.opId, initial: out.initial, fold: out.fold });
  },

  async run(out: FoldTaskOutput, batches: AsyncIterable<unknown[]>, env: TaskEnv): Promise<TaskSuccess> {
    const label = `reduce #${out.opId} fold`;
    const fold = await env.resolve(out.fold, label);
    let acc: unknown = structuredClone(out.initial);
    for await (const batch of batches) {
      for (const row of batch) {
        try {
          acc = fold(acc, row, env.ctx);
        } catch (err) {
          throw userError(env, label, err);
        }
      }
      env.counters.recordsOut += batch.length;
    }
    return { ok: true, counters: env.counters, value: acc };
  },

  /** Folds the per-shard values with `combine`, in shard order, on the coordinator. */
  async result(out: FoldOutput, results: TaskSuccess[], resolve: Resolver): Promise<unknown> {
    const combine = await resolve(out.combine, `reduce #${out.opId} combine`);
    const ctx: UserContext = { shard: 0, shardCount: 1, attempt: 1, counters: { increment() {} }, position: () => undefined };
    if (results.length === 0) return structuredClone(out.initial);
    let acc: unknown = results[0].value;
    for (let i = 1; i < results.length; i++) acc = combine(acc, results[i].value, ctx);
    return acc;
  },

  describe(out: FoldOutput): string {
    return `local fold ${describeFn(out.fold)} per shard (reduce #${out.opId})`;
  },
};
