/**
 * Physical operator `shuffle` (groupBy, deduplicate, partitionBy): ends a stage with a scatter and
 * starts one with a reduce. A map task feeds its rows to a ScatterWriter (hash partitions, sorted runs of zstd
 * frames, a combiner or keep-first applied in its buffers) in a folder unique to its attempt and
 * reports the sidecar it committed; after the map stage the coordinator removes losing attempts'
 * folders and hands each reduce task exactly one sidecar per map task, the winner's. A reduce task
 * merges its partition under its memory budget (spilling below the execution's folder) and yields
 * the reducer's row per group, the first row per key, or (partitionBy) every row in (key, sortBy)
 * order. Output shard p holds the keys with partitionOf(key, shards) = p, in key order.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { joinPath } from "../../io/index.ts";
import { namesBelow, removeFolder } from "../exec/folders.ts";
import type { AnyFunction, FnSpec } from "../fn.ts";
import type { DeduplicateOp, GroupByOp, PartitionByOp } from "../logical.ts";
import { describeFn } from "../plan/describe.ts";
import type { PlanContext, TaskEnv } from "../exec/context.ts";
import { userError, moveCursor } from "../row/runtime.ts";
import { ScatterWriter, ShuffleKeyError, ShuffleReader, keepFirst } from "../../shuffle/index.ts";
import type { ShuffleReduce, ScatterOutput, ShuffleInput, Stage } from "../plan/physical.ts";
import type { ScatterTaskOutput, ShuffleTask, TaskSuccess } from "../exec/task.ts";




const OUT_BATCH = 1024;

export const shuffleOperator = {
  /** Closes `current` with a scatter; returns the reduce stage's input and shard count. */
  plan(current: Stage, from: number, op: GroupByOp | DeduplicateOp | PartitionByOp): Pick<Stage, "input" | "shards"> {
    const partitions = op.shards ?? "map-tasks";
    const shards: Stage["shards"] = op.shards ?? { asStage: from };
    if (op.kind === "deduplicate") {
      current.output = { kind: "scatter", opId: op.id, operator: "deduplicate", key: op.key, keepFirst: true, partitions };
      return { input: { kind: "shuffle", fromStage: from, opId: op.id, reduce: { kind: "deduplicate" } }, shards };
    }
    if (op.kind === "partitionBy") {
      const sorted: ScatterOutput = { kind: "scatter", opId: op.id, operator: "partitionBy", key: op.key, partitions };
      if (op.sortBy) sorted.sortBy = op.sortBy;
      current.output = sorted;
      return { input: { kind: "shuffle", fromStage: from, opId: op.id, reduce: { kind: "partitionBy" } }, shards };
    }
    const output: ScatterOutput = { kind: "scatter", opId: op.id, operator: "groupBy", key: op.key, partitions };
    const reduce: ShuffleReduce = { kind: "groupBy", reducer: op.reducer };
    if (op.sortBy) output.sortBy = op.sortBy;
    if (op.combiner) output.combiner = reduce.combiner = op.combiner;
    current.output = output;
    return { input: { kind: "shuffle", fromStage: from, opId: op.id, reduce }, shards };
  },

  outputTasks(out: ScatterOutput, stage: Stage, shardCount: number, ctx: PlanContext): ScatterTaskOutput[] {
    const task: ScatterTaskOutput = {
      kind: "scatter",
      dir: ctx.stageDir(stage.id),
      operator: `${out.operator} #${out.opId}`,
      partitions: out.partitions === "map-tasks" ? shardCount : out.partitions,
      key: out.key,
      memoryBudgetBytes: ctx.budgets(stage).shuffleWrite,
    };
    if (out.sortBy) task.sortBy = out.sortBy;
    if (out.combiner) task.combiner = out.combiner;
    if (out.keepFirst) task.keepFirst = true;
    return new Array(shardCount).fill(task);
  },

  async run(out: ScatterTaskOutput, batches: AsyncIterable<unknown[]>, env: TaskEnv): Promise<TaskSuccess> {
    const label = out.operator;
    const key = guarded(await env.resolve(out.key, `${label} key`), `${label} key`, env);
    const sortBy = out.sortBy ? guarded(await env.resolve(out.sortBy, `${label} sortBy`), `${label} sortBy`, env) : undefined;
    const combine = out.keepFirst ? keepFirst : out.combiner ? guardedCombiner(await env.resolve(out.combiner, `${label} combiner`), `${label} combiner`, env) : undefined;
    const { desc, counters } = env;
    // One folder per attempt: two committed attempts of one map task never share a sidecar name.
    const dir = joinPath(out.dir, `map-${desc.shard}.${env.attemptTag}-${randomBytes(3).toString("hex")}`);
    const writer = await ScatterWriter.open<unknown>({
      outputDir: dir,
      mapTask: desc.shard,
      attempt: env.attemptTag,
      numPartitions: out.partitions,
      key,
      sortBy,
      combine,
      operator: label,
      memoryBudgetBytes: out.memoryBudgetBytes,
      // The map output lives in the execution's scratch folder, removed when the execution ends and
      // never read after its process is gone: flushing it to disk would only wait for the disk.
      syncData: false,
    });
    try {
      for await (const batch of batches) {
        for (let at = 0; ; ) {
          const paused = addRows(writer, batch, at, env);
          if (!paused) break;
          await paused.flushing;
          at = paused.next;
        }
      }
      const committed = await writer.commit();
      const s = writer.stats;
      counters.bytesOut = s.bytesWritten;
      counters.shuffle = { framesWritten: s.framesWritten, budgetFlushes: s.flushes, framesRead: 0, spilledRuns: 0, spilledBytes: 0, mergePasses: 0 };
      return { ok: true, counters, sidecar: committed.sidecarPath };
    } catch (err) {
      await writer.abort().catch(() => {});
      await removeFolder(dir).catch(() => {});
      throw err;
    }
  },

  /**
   * After the map stage: removes the folders of attempts that lost (failed after writing, or
   * committed and then failed to report). Reduce tasks read only the winners' sidecars, so this is
   * cleanup, not safety.
   */
  async finish(stage: Stage, results: TaskSuccess[], ctx: PlanContext): Promise<void> {
    const dir = ctx.stageDir(stage.id);
    const keep = new Set(results.map((r) => path.posix.basename(path.posix.dirname(r.sidecar ?? ""))));
    for (const name of await namesBelow(dir)) if (!keep.has(name)) await removeFolder(joinPath(dir, name));
  },

  inputTasks(input: ShuffleInput, stage: Stage, ctx: PlanContext): ShuffleTask[] {
    const upstream = ctx.resultsOf(input.fromStage);
    const sidecars = upstream.map((r) => r.sidecar ?? "");
    const scatter = ctx.plan.stages[input.fromStage].output;
    const partitions = scatter.kind === "scatter" && scatter.partitions !== "map-tasks" ? scatter.partitions : upstream.length;
    const operator = `${input.reduce.kind} #${input.opId}`;
    const spillDir = ctx.spillDir;
    const memoryBudgetBytes = ctx.budgets(stage).shuffleRead;
    return Array.from({ length: partitions }, (_, partition) => ({ kind: "shuffle", sidecars, partition, operator, reduce: input.reduce, memoryBudgetBytes, ...(spillDir ? { spillDir } : {}) }));
  },

  /** The rows of one reduce partition: the reducer's output per group, or the first row per key. */
  async *open(task: ShuffleTask, env: TaskEnv): AsyncIterable<unknown[]> {
    const label = task.operator;
    const reduce = task.reduce;
    const reducerLabel = `${label} reducer`;
    const reducer = reduce.kind === "groupBy" ? await env.resolve(reduce.reducer, reducerLabel) : undefined;
    const combine =
      reduce.kind === "deduplicate"
        ? keepFirst
        : reduce.kind === "groupBy" && reduce.combiner
          ? guardedCombiner(await env.resolve(reduce.combiner, `${label} combiner`), `${label} combiner`, env)
          : undefined;
    const reader = new ShuffleReader<unknown>({ mapOutputs: task.sidecars, partition: task.partition, combine, memoryBudgetBytes: task.memoryBudgetBytes, spillDir: task.spillDir });
    const { cursor, counters } = env;
    try {
      if (!reducer) {
        for await (const batch of reader.batches()) {
          counters.recordsIn += batch.length;
          yield batch.map((e) => e.record);
        }
        return;
      }
      let out: unknown[] = [];
      for await (const group of reader.groups()) {
        const values = group.values;
        moveCursor(cursor, { source: `${label} partition ${task.partition} of shard ${env.desc.shard}, group key ${JSON.stringify(group.key)}`, first: 1, unit: "row" });
        let row: unknown;
        try {
          row = await reducer(group.key, values, env.ctx);
        } catch (err) {
          throw userError(env, reducerLabel, err);
        } finally {
          counters.recordsIn += values.taken;
        }
        if (row === undefined) {
          throw userError(env, reducerLabel, new Error(`returned undefined for key ${JSON.stringify(group.key)}; return the output row (use null for an empty value)`));
        }
        cursor.known = false;
        out.push(row);
        if (out.length >= OUT_BATCH) {
          yield out;
          out = [];
        }
      }
      if (out.length) yield out;
    } finally {
      cursor.known = false;
      const s = reader.stats;
      counters.bytesIn += s.compressedBytes;
      counters.shuffle = { framesWritten: 0, budgetFlushes: 0, framesRead: s.frames, spilledRuns: s.spilledRuns, spilledBytes: s.spilledBytes, mergePasses: s.mergePasses };
    }
  },

  describeOutput(out: ScatterOutput): string {
    const parts = [`scatter by ${describeFn(out.key)} to ${out.partitions === "map-tasks" ? "as many partitions as shards" : `${out.partitions} partition${out.partitions === 1 ? "" : "s"}`}`];
    if (out.sortBy) parts.push(`sortBy ${describeFn(out.sortBy)}`);
    if (out.combiner) parts.push(`combiner ${describeFn(out.combiner)}`);
    if (out.keepFirst) parts.push("keeping the first row per key");
    return `${parts.join(", ")} (${out.operator} #${out.opId})`;
  },

  describeInput(input: ShuffleInput): string {
    const what =
      input.reduce.kind === "groupBy"
        ? `groups to ${describeFn(input.reduce.reducer)}${input.reduce.combiner ? `, combining with ${describeFn(input.reduce.combiner)}` : ""}`
        : input.reduce.kind === "deduplicate"
          ? "first row per key"
          : "every row in key order";
    return `shuffle reduce from stage ${input.fromStage}: merge-sorted partition, ${what} (${input.reduce.kind} #${input.opId})`;
  },
};

/**
 * A key or sortBy function called as `f(row, ctx)`, its exceptions reported as the operator's. A
 * fixed arity: no argument arrays per row.
 */
function guarded(f: AnyFunction, label: string, env: TaskEnv): (row: unknown) => unknown {
  return (row) => {
    try {
      return f(row, env.ctx);
    } catch (err) {
      throw userError(env, label, err);
    }
  };
}

/** A combiner called as `f(a, b, ctx)`, its exceptions reported as the operator's. */
function guardedCombiner(f: AnyFunction, label: string, env: TaskEnv): (a: unknown, b: unknown) => unknown {
  return (a, b) => {
    try {
      return f(a, b, env.ctx);
    } catch (err) {
      throw userError(env, label, err);
    }
  };
}

/**
 * Adds `batch[from..]` to the writer until it starts a flush: that flush and the next row's index, or
 * undefined when the batch is in. Synchronous, so that the per-row loop is optimised once and the
 * task's async function only waits.
 */
function addRows(writer: ScatterWriter<unknown>, batch: unknown[], from: number, env: TaskEnv): { flushing: Promise<void>; next: number } | undefined {
  const counters = env.counters;
  for (let i = from; i < batch.length; i++) {
    let flushing: Promise<void> | undefined;
    try {
      flushing = writer.add(batch[i]);
    } catch (err) {
      throw withRow(err, env, counters.recordsOut + 1, batch[i]);
    }
    counters.recordsOut++;
    if (flushing) return { flushing, next: i + 1 };
  }
  return undefined;
}

/** Names the row behind a bad shuffle key (the key extractor's own exceptions already name the operator). */
function withRow(err: unknown, env: TaskEnv, rowNumber: number, row: unknown): unknown {
  if (err instanceof ShuffleKeyError) {
    let preview: string;
    try {
      preview = JSON.stringify(row)?.slice(0, 200) ?? String(row);
    } catch {
      preview = String(row);
    }
    err.message += ` (shard ${env.desc.shard} of ${env.desc.shardCount}, row ${rowNumber} reaching the scatter: ${preview})`;
  }
  return err;
}

