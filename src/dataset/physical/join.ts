/**
 * Physical operator `join` (sortedMergeJoin): a fused operator that walks shard i of the stream
 * beside shard i of its right input, both sorted by their keys, and emits `{ left, right }` rows
 * (a left join keeps unmatched left rows with `right: null`). The right input is read directly when
 * it is a single stage of its own (files or inline rows plus narrow operators: a parquet read gets
 * its column and filter pushdown); otherwise its stages run first and end with one aligned file per
 * shard. Shard counts must match (checked before any task runs); a key going backwards fails the
 * task naming the side, shard and row. `how`: inner, left (unmatched left rows with `right: null`),
 * or outer (also unmatched right rows, with `left: null`).
 */
import { JoinInputError } from "../errors.ts";
import type { AnyFunction, FnSpec } from "../fn.ts";
import type { JoinHow, JoinOp } from "../logical.ts";
import { describeFn } from "../plan/describe.ts";
import type { PlanContext, TaskEnv } from "../exec/context.ts";
import { moveCursor, type Cursor } from "../row/runtime.ts";
import { userError } from "../row/runtime.ts";
import { assertShuffleKey, compareKeys, type ShuffleKey } from "../../shuffle/index.ts";
import type { JoinSide, JoinStageOp, Stage, StageInput, StageOp } from "../plan/physical.ts";
import type { SideInput, TaskInput } from "../exec/task.ts";


const OUT_BATCH = 1024;

/** Plans a logical plan's operators into stages (the planner's own recursion, handed in). */
type PlanRight = (ops: JoinOp["right"]["ops"]) => { current: Stage; closedAny: boolean };

export const joinOperator = {
  plan(op: JoinOp, planRight: PlanRight, close: (stage: Stage) => number, pushDown: (stage: Stage) => void): JoinStageOp {
    const { current, closedAny } = planRight(op.right.ops);
    const direct = !closedAny && (current.input.kind === "read" || current.input.kind === "items") && current.ops.every((o) => o.kind !== "join" && o.kind !== "limit");
    let right: JoinSide;
    if (direct) {
      pushDown(current);
      right = { kind: "direct", input: current.input, ops: current.ops };
    } else {
      current.output = { kind: "exchange", partitioning: "aligned", partitions: "aligned", opId: op.id, operator: "sortedMergeJoin" };
      right = { kind: "stage", stage: close(current) };
    }
    return { id: op.id, kind: "join", leftKey: op.leftKey, rightKey: op.rightKey, how: op.how, right };
  },

  /** The right side of join `op` (the stage's `index`-th operator) for each of `shardCount` shards. */
  async sides(op: JoinStageOp, shardCount: number, ctx: PlanContext, inputTasks: (input: StageInput) => Promise<TaskInput[]>): Promise<SideInput[]> {
    let inputs: TaskInput[];
    let ops: StageOp[] = [];
    if (op.right.kind === "direct") {
      inputs = await inputTasks(op.right.input);
      ops = op.right.ops;
    } else {
      inputs = ctx.resultsOf(op.right.stage).map((r) => ({ kind: "exchange", files: [r.exchangeFiles?.[0] ?? ""] }));
    }
    if (inputs.length !== shardCount) {
      throw new JoinInputError(
        `sortedMergeJoin #${op.id}: the inputs are not co-partitioned: the left input has ${shardCount} shard(s), the right input has ${inputs.length}`,
        "give both sides the same number of shards with the same key, e.g. groupBy/deduplicate on the join key with the same numShards, or part files named alike",
      );
    }
    return inputs.map((input) => ({ input, ops }));
  },

  /** Sorted merge join of the stream with this shard's right side. */
  async *open(op: JoinStageOp, left: AsyncIterable<unknown[]>, right: { rows: AsyncIterable<unknown[]>; cursor: Cursor }, env: TaskEnv): AsyncIterable<unknown[]> {
    const label = `sortedMergeJoin #${op.id}`;
    const l = new SortedSide("left", left, await env.resolve(op.leftKey, `${label} leftKey`), label, env, env.cursor);
    const r = new SortedSide("right", right.rows, await env.resolve(op.rightKey, `${label} rightKey`), label, env, right.cursor);
    await l.next();
    await r.next();
    const keepLeft = op.how !== "inner";
    const keepRight = op.how === "outer";
    let out: unknown[] = [];
    while (!l.done) {
      while (!r.done && compareKeys(r.key, l.key) < 0) {
        if (keepRight) out.push({ left: null, right: r.row });
        await r.next();
      }
      if (!r.done && compareKeys(r.key, l.key) === 0) {
        const key = r.key;
        const run: unknown[] = [];
        while (!r.done && compareKeys(r.key, key) === 0) {
          run.push(r.row);
          await r.next();
        }
        while (!l.done && compareKeys(l.key, key) === 0) {
          for (const match of run) out.push({ left: l.row, right: match });
          await l.next();
          if (out.length >= OUT_BATCH) yield out.splice(0);
        }
        continue;
      }
      if (keepLeft) out.push({ left: l.row, right: null });
      await l.next();
      if (out.length >= OUT_BATCH) yield out.splice(0);
    }
    // Read the rest of the right side too: an outer join keeps it, and an unsorted tail is reported rather than ignored.
    while (!r.done) {
      if (keepRight) out.push({ left: null, right: r.row });
      await r.next();
      if (out.length >= OUT_BATCH) yield out.splice(0);
    }
    if (out.length) yield out;
  },

  describe(op: JoinStageOp, describeInput: (input: StageInput) => string, describeOps: (ops: StageOp[]) => string): string {
    const side =
      op.right.kind === "direct"
        ? `${describeInput(op.right.input)}${op.right.ops.length ? ` -> ${describeOps(op.right.ops)}` : ""}`
        : `shard i of stage ${op.right.stage}`;
    return `sortedMergeJoin #${op.id} ${op.how} on ${describeFn(op.leftKey)} = ${describeFn(op.rightKey)} with [${side}]`;
  },
};

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
  /** Where the side's current batch came from (file and first row), as its reader left it. */
  private source = "";
  private first = 1;

  constructor(
    private readonly side: "left" | "right",
    rows: AsyncIterable<unknown[]>,
    private readonly keyOf: AnyFunction,
    private readonly label: string,
    private readonly env: TaskEnv,
    private readonly input: Cursor,
  ) {
    this.iterator = rows[Symbol.asyncIterator]();
    this.keyLabel = `${label} ${side === "left" ? "leftKey" : "rightKey"}`;
  }

  /** The current row's file and row number when its reader tracked them, else its number in the shard. */
  private where(): string {
    const shard = `shard ${this.env.desc.shard}`;
    if (!this.source) return `${shard}, row ${this.position}`;
    return `${this.source} ${this.input.unit} ${this.first + this.index - 1}${this.source.includes("shard") ? "" : ` (${shard})`}`;
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
      this.source = this.input.known ? this.input.source : "";
      this.first = this.input.first;
    }
    const previous = this.key;
    this.row = this.batch[this.index++];
    this.position++;
    const shard = this.env.desc.shard;
    const cursor = this.env.cursor;
    moveCursor(cursor, { source: `${this.side} input of ${this.label}, shard ${shard}`, first: this.position, unit: "row" });
    let key: unknown;
    try {
      key = this.keyOf(this.row, this.env.ctx);
    } catch (err) {
      throw userError(this.env, this.keyLabel, err);
    }
    assertShuffleKey(key, this.keyLabel);
    if (this.position > 1 && compareKeys(previous, key) > 0) {
      throw new JoinInputError(
        `${this.label}: the ${this.side} input is not sorted by its key: ${this.where()} has key ` +
          `${JSON.stringify(key)} after key ${JSON.stringify(previous)}`,
        `sort each shard of the ${this.side} input by the join key, e.g. produce it with groupBy or deduplicate on that key with the same numShards as the other side`,
      );
    }
    this.key = key;
    cursor.known = false;
  }
}
