/**
 * Physical operator `exchange`: ends a stage by writing its rows to intermediate files and starts
 * the next stage from them. Three partitionings:
 *  - round-robin (reshard n): each task spreads its rows over n files; downstream task p reads
 *    file p of every upstream task;
 *  - single (the gather of take n): every task writes one file; one downstream task reads them all
 *    in shard order;
 *  - aligned (a join's right side, an iterate round): every task writes one file and downstream
 *    shard i reads upstream shard i's file, so the partitioning is kept.
 * Files are msgpack frames, written under attempt-unique names and committed by rename
 * (exec/exchange-files.ts).
 */
import type { PlanContext, TaskEnv } from "../exec/context.ts";
import { ExchangeWriter, readExchangeFiles } from "../exec/exchange-files.ts";
import type { Partitioning, ExchangeOutput, ExchangeInput, Stage } from "../plan/physical.ts";
import type { ExchangeTaskOutput, ExchangeTask, TaskSuccess } from "../exec/task.ts";



export const exchangeOperator = {
  /** Closes `current` with an exchange and returns the input and shard count of the stage that reads it. */
  plan(current: Stage, from: number, opId: number, partitioning: Partitioning, partitions: number | "aligned"): Pick<Stage, "input" | "shards"> {
    current.output = { kind: "exchange", partitioning, partitions, opId, operator: partitioning === "single" ? "take" : "reshard" };
    return { input: { kind: "exchange", fromStage: from, partitioning, partitions }, shards: partitions === "aligned" ? { asStage: from } : partitions };
  },

  outputTasks(out: ExchangeOutput, stage: Stage, shardCount: number, ctx: PlanContext): ExchangeTaskOutput[] {
    const partitions = out.partitions === "aligned" ? 1 : out.partitions;
    return new Array(shardCount).fill({ kind: "exchange", dir: ctx.stageDir(stage.id), partitioning: out.partitioning, partitions });
  },

  async run(out: ExchangeTaskOutput, batches: AsyncIterable<unknown[]>, env: TaskEnv): Promise<TaskSuccess> {
    const writer = new ExchangeWriter(out.dir, env.desc.shard, out.partitions, out.partitioning === "round-robin" ? "round-robin" : "single", env.attemptTag);
    try {
      for await (const batch of batches) {
        env.counters.recordsOut += batch.length;
        await writer.add(batch);
      }
      const files = await writer.commit();
      env.counters.bytesOut = writer.bytes;
      return { ok: true, counters: env.counters, exchangeFiles: files };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  },

  /** One task input per downstream shard, from the upstream stage's committed files. */
  inputTasks(input: ExchangeInput, ctx: PlanContext): ExchangeTask[] {
    return filesByShard(input, ctx.resultsOf(input.fromStage)).map((files) => ({ kind: "exchange", files }));
  },

  async *open(task: ExchangeTask, env: TaskEnv): AsyncIterable<unknown[]> {
    for await (const rows of readExchangeFiles(task.files, env.cursor, (n) => (env.counters.bytesIn += n))) {
      env.counters.recordsIn += rows.length;
      yield rows;
    }
  },

  describeOutput(out: ExchangeOutput): string {
    if (out.partitioning === "aligned") return `one file per shard, read by the same shard downstream (${out.operator} #${out.opId})`;
    const n = out.partitions === "aligned" ? 1 : out.partitions;
    return `exchange ${out.partitioning} to ${n} partition${n === 1 ? "" : "s"} (${out.operator} #${out.opId})`;
  },

  describeInput(input: ExchangeInput): string {
    if (input.partitioning === "aligned") return `shard i of stage ${input.fromStage}'s files`;
    const n = input.partitions === "aligned" ? 1 : input.partitions;
    return `exchange from stage ${input.fromStage} (${n} partition${n === 1 ? "" : "s"})`;
  },
};

/** The files each downstream shard reads: partition p of every upstream task, or upstream shard i's file. */
export function filesByShard(input: { partitioning: Partitioning; partitions: number | "aligned" }, upstream: TaskSuccess[]): string[][] {
  const files = upstream.map((r) => r.exchangeFiles ?? []);
  if (input.partitioning === "aligned") return files.map((f) => [f[0]]);
  const n = input.partitions === "aligned" ? 1 : input.partitions;
  // An upstream task that was not needed (take stops early) wrote no files.
  return Array.from({ length: n }, (_, p) => files.flatMap((f) => (f[p] === undefined ? [] : [f[p]])));
}
