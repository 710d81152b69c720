/**
 * The shuffle and join sides of a task. A scatter output (the end of a map stage before groupBy or
 * deduplicate) feeds the task's rows to a ScatterWriter in a folder unique to this attempt and
 * commits its sidecar; the coordinator hands reduce tasks only the winning attempt's sidecar of each
 * map task. A shuffle input reads one partition merge-sorted from those sidecars under the task's
 * memory budget (spilling below `spillDir`, removed on success and failure) and yields either the
 * reducer's row per group or the first row per key. A join input walks shard i of the left and right
 * inputs in key order, checking that each is sorted, and yields `{ left, right }` rows.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { JoinInputError } from "../../ops/errors.ts";
import type { AnyFunction } from "../../ops/fn.ts";
import type { TaskCounters, TaskDescriptor, TaskInput, TaskOutput, TaskSuccess } from "../../ops/task.ts";
import { ScatterWriter, ShuffleKeyError, ShuffleReader, compareKeys, keepFirst } from "../../shuffle/index.ts";
import type { ShuffleKey } from "../../shuffle/index.ts";
import { assertShuffleKey } from "../../shuffle/key.ts";
import { userError } from "./chain.ts";
import type { ChainEnv, Cursor } from "./chain.ts";
import { readExchangeFiles } from "./exchange.ts";

const OUT_BATCH = 1024;

type ScatterOutput = Extract<TaskOutput, { kind: "scatter" }>;
type ShuffleInput = Extract<TaskInput, { kind: "shuffle" }>;
type JoinInput = Extract<TaskInput, { kind: "join" }>;

/** `f` called with the task's context last, its exceptions reported as the operator's. */
function guarded(f: AnyFunction, label: string, env: ChainEnv): AnyFunction {
  return (...args: unknown[]) => {
    try {
      return f(...args, env.ctx);
    } catch (err) {
      throw userError(env, label, err);
    }
  };
}

/** Scatters the stage's output rows into hash partitions; returns the committed sidecar. */
export async function runScatter(
  desc: TaskDescriptor,
  out: ScatterOutput,
  batches: AsyncIterable<unknown[]>,
  env: ChainEnv,
  counters: TaskCounters,
): Promise<TaskSuccess> {
  const label = out.operator;
  const key = guarded(await env.resolve(out.key, `${label} key`), `${label} key`, env);
  const sortBy = out.sortBy ? guarded(await env.resolve(out.sortBy, `${label} sortBy`), `${label} sortBy`, env) : undefined;
  const combine = out.keepFirst ? keepFirst : out.combiner ? guarded(await env.resolve(out.combiner, `${label} combiner`), `${label} combiner`, env) : undefined;
  const attempt = `${desc.executionId}-a${desc.attempt}`;
  // One folder per attempt: two committed attempts of one map task never share a sidecar name.
  const dir = path.join(out.dir, `map-${desc.shard}.${attempt}-${randomBytes(3).toString("hex")}`);
  const writer = await ScatterWriter.open<unknown>({
    outputDir: dir,
    mapTask: desc.shard,
    attempt,
    numPartitions: out.partitions,
    key,
    sortBy,
    combine,
    operator: label,
    memoryBudgetBytes: out.memoryBudgetBytes,
  });
  try {
    for await (const batch of batches) {
      for (const row of batch) {
        let flushing: Promise<void> | undefined;
        try {
          flushing = writer.add(row);
        } catch (err) {
          throw withRow(err, desc, counters.recordsOut + 1, row);
        }
        counters.recordsOut++;
        if (flushing) await flushing;
      }
    }
    const committed = await writer.commit();
    const s = writer.stats;
    counters.bytesOut = s.bytesWritten;
    counters.shuffle = { framesWritten: s.framesWritten, budgetFlushes: s.flushes, framesRead: 0, spilledRuns: 0, spilledBytes: 0, mergePasses: 0 };
    return { ok: true, counters, sidecar: committed.sidecarPath };
  } catch (err) {
    await writer.abort().catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/** Names the row behind a bad shuffle key (the key extractor's own exceptions already name the operator). */
function withRow(err: unknown, desc: TaskDescriptor, rowNumber: number, row: unknown): unknown {
  if (err instanceof ShuffleKeyError) {
    let preview: string;
    try {
      preview = JSON.stringify(row)?.slice(0, 200) ?? String(row);
    } catch {
      preview = String(row);
    }
    err.message += ` (shard ${desc.shard} of ${desc.shardCount}, row ${rowNumber} reaching the scatter: ${preview})`;
  }
  return err;
}

/** The rows of one reduce partition: the reducer's output per group, or the first row per key. */
export async function* shuffleSource(desc: TaskDescriptor, input: ShuffleInput, env: ChainEnv, counters: TaskCounters): AsyncIterable<unknown[]> {
  const label = input.operator;
  const reduce = input.reduce;
  const reducerLabel = `${label} reducer`;
  const reducer = reduce.kind === "groupBy" ? await env.resolve(reduce.reducer, reducerLabel) : undefined;
  const combine =
    reduce.kind === "deduplicate"
      ? keepFirst
      : reduce.combiner
        ? guarded(await env.resolve(reduce.combiner, `${label} combiner`), `${label} combiner`, env)
        : undefined;
  const reader = new ShuffleReader<unknown>({
    mapOutputs: input.sidecars,
    partition: input.partition,
    combine,
    memoryBudgetBytes: input.memoryBudgetBytes,
    spillDir: input.spillDir,
  });
  const cursor = env.cursor;
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
      const values = countValues(group.values, counters);
      Object.assign(cursor, { source: `${label} partition ${input.partition} of shard ${desc.shard}, group key ${JSON.stringify(group.key)}`, first: 1, index: 0, unit: "row", known: true });
      let row: unknown;
      try {
        row = await reducer(group.key, values, env.ctx);
      } catch (err) {
        throw userError(env, reducerLabel, err);
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
}

async function* countValues<T>(values: AsyncIterable<T>, counters: TaskCounters): AsyncIterable<T> {
  for await (const v of values) {
    counters.recordsIn++;
    yield v;
  }
}

/** One side of a join: its rows in order with their keys, failing when a key goes backwards. */
class SortedSide {
  row: unknown;
  key: ShuffleKey = null;
  done = false;
  /** 1-based number of the current row in this shard. */
  position = 0;
  private batch: unknown[] = [];
  private index = 0;
  private readonly iterator: AsyncIterator<unknown[]>;
  private readonly keyLabel: string;

  constructor(
    private readonly side: "left" | "right",
    file: string,
    private readonly keyOf: AnyFunction,
    private readonly label: string,
    private readonly shard: number,
    private readonly env: ChainEnv,
    counters: TaskCounters,
  ) {
    const cursor: Cursor = { source: file, first: 1, index: 0, unit: "row", known: false };
    this.iterator = readExchangeFiles([file], cursor, (n) => (counters.bytesIn += n))[Symbol.asyncIterator]();
    this.keyLabel = `${label} ${side === "left" ? "leftKey" : "rightKey"}`;
  }

  async next(): Promise<void> {
    while (this.index >= this.batch.length) {
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        return;
      }
      this.batch = r.value;
      this.index = 0;
    }
    const previous = this.key;
    this.row = this.batch[this.index++];
    this.position++;
    Object.assign(this.env.cursor, { source: `${this.side} input of ${this.label}, shard ${this.shard}`, first: this.position, index: 0, unit: "row", known: true });
    let key: unknown;
    try {
      key = this.keyOf(this.row, this.env.ctx);
    } catch (err) {
      throw userError(this.env, this.keyLabel, err);
    }
    assertShuffleKey(key, this.keyLabel);
    if (this.position > 1 && compareKeys(previous, key) > 0) {
      throw new JoinInputError(
        `${this.label}: the ${this.side} input is not sorted by its key: shard ${this.shard}, row ${this.position} has key ` +
          `${JSON.stringify(key)} after key ${JSON.stringify(previous)} at row ${this.position - 1}`,
        `sort each shard of the ${this.side} input by the join key, e.g. produce it with groupBy or deduplicate on that key with the same numShards as the other side`,
      );
    }
    this.key = key;
    this.env.cursor.known = false;
  }
}

/** Sorted merge join of shard i of both inputs; a left join keeps unmatched left rows with `right: null`. */
export async function* joinSource(desc: TaskDescriptor, input: JoinInput, env: ChainEnv, counters: TaskCounters): AsyncIterable<unknown[]> {
  const label = `sortedMergeJoin #${input.opId}`;
  const leftKey = await env.resolve(input.leftKey, `${label} leftKey`);
  const rightKey = await env.resolve(input.rightKey, `${label} rightKey`);
  const left = new SortedSide("left", input.left, leftKey, label, desc.shard, env, counters);
  const right = new SortedSide("right", input.right, rightKey, label, desc.shard, env, counters);
  await left.next();
  await right.next();
  let out: unknown[] = [];
  const emit = (row: unknown): boolean => out.push(row) >= OUT_BATCH;
  let flush = false;
  while (!left.done) {
    while (!right.done && compareKeys(right.key, left.key) < 0) {
      counters.recordsIn++;
      await right.next();
    }
    if (!right.done && compareKeys(right.key, left.key) === 0) {
      const key = right.key;
      const run: unknown[] = [];
      while (!right.done && compareKeys(right.key, key) === 0) {
        run.push(right.row);
        counters.recordsIn++;
        await right.next();
      }
      while (!left.done && compareKeys(left.key, key) === 0) {
        for (const r of run) flush = emit({ left: left.row, right: r }) || flush;
        counters.recordsIn++;
        await left.next();
        if (flush) {
          yield out;
          out = [];
          flush = false;
        }
      }
      continue;
    }
    if (input.how === "left") flush = emit({ left: left.row, right: null });
    counters.recordsIn++;
    await left.next();
    if (flush) {
      yield out;
      out = [];
      flush = false;
    }
  }
  // Read the rest of the right side too, so that an unsorted tail is reported rather than ignored.
  while (!right.done) {
    counters.recordsIn++;
    await right.next();
  }
  if (out.length) yield out;
}
