/**
 * Physical operator `read`: rows from files (jsonl, jsonl.zst, jsonl.gz, parquet; globs), one shard
 * per input split. Planning pushes leading `where` filters, and a `select` right after them, into a
 * parquet read (the reader reads only those columns and skips row groups and rows the predicates
 * exclude; the filters stay in the chain); a count right after the filters reads only their columns.
 * A task reads its split in batches, keeping the cursor on
 * the current file and line for error messages, and counts bytes, records whose invalid UTF-8 was
 * replaced, and records the read rejected: with `onBadRecord: "skip"` they are counted by reason,
 * with `"quarantine"` also written (file, line, reason, raw text) to the quarantine folder; with
 * `"fail"` (the default) the first one fails the task without retries.
 */
import { moveCursor } from "../row/runtime.ts";
import { DatasetPlanError } from "../errors.ts";
import type { BadRecordPolicy, ReadOp, Where } from "../logical.ts";
import type { PlanContext, TaskEnv } from "../exec/context.ts";
import { displayPath, describeWhere } from "../plan/describe.ts";
import { loadFormats, type InputSplit } from "../formats-api.ts";
import type { ReadInput, Stage } from "../plan/physical.ts";
import type { SplitTask } from "../exec/task.ts";



export const readOperator = {
  /** The open stage a read starts. */
  plan(op: ReadOp): Pick<Stage, "input" | "shards"> {
    if (op.onBadRecord === "quarantine" && !op.quarantine) {
      throw new DatasetPlanError(`read #${op.id}: onBadRecord "quarantine" needs a folder`, "pass { onBadRecord: 'quarantine', quarantine: 'path/to/folder' }");
    }
    const input: ReadInput = {
      kind: "read",
      patterns: op.patterns,
      format: op.patterns.every((p) => p.endsWith(".parquet")) ? "parquet" : "by-extension",
      onBadRecord: op.onBadRecord ?? "fail",
    };
    if (op.splitBytes) input.splitBytes = op.splitBytes;
    if (op.quarantine) input.quarantine = op.quarantine;
    return { input, shards: "input-splits" };
  },

  /** Pushes leading `where` filters and a following `select` of the stage into its parquet read (for a count, no column beyond the filters'). */
  pushDown(stage: Stage): void {
    const input = stage.input;
    if (input.kind !== "read" || input.format !== "parquet") return;
    const where: Where[] = [];
    let i = 0;
    for (; i < stage.ops.length; i++) {
      const op = stage.ops[i];
      if (op.kind !== "filter" || !op.where || op.fn) break;
      where.push(op.where);
    }
    const whereColumns = [...new Set(where.map((w) => w.column))];
    let columns: string[] | undefined;
    let dropSelect = false;
    const next = stage.ops[i];
    if (next?.kind === "select") {
      const extra = whereColumns.filter((c) => !next.columns.includes(c));
      columns = [...next.columns, ...extra];
      dropSelect = extra.length === 0; // predicates need extra columns: read them, then still select
    } else if (next === undefined && stage.output.kind === "count") {
      // Counting looks at no value: only the filters' columns are read (none without filters).
      columns = whereColumns;
    }
    if (where.length === 0 && !columns) return;
    // The reader only skips rows the filter would drop too, so the filter operators stay in the chain.
    if (dropSelect) stage.ops = [...stage.ops.slice(0, i), ...stage.ops.slice(i + 1)];
    if (where.length) input.where = where;
    if (columns) input.columns = columns;
  },

  async tasks(input: ReadInput, _ctx?: PlanContext): Promise<SplitTask[]> {
    const formats = await loadFormats();
    const splits = await formats.expandInputs(input.patterns, input.splitBytes ? { splitBytes: input.splitBytes } : undefined);
    return splits.map((split) => {
      const task: SplitTask = { kind: "split", split, onBadRecord: input.onBadRecord };
      if (input.columns) task.columns = input.columns;
      if (input.where) task.where = input.where;
      if (input.quarantine) task.quarantine = input.quarantine;
      return task;
    });
  },

  async *open(task: SplitTask, env: TaskEnv): AsyncIterable<unknown[]> {
    const formats = await loadFormats();
    const { split } = task;
    const parquet = split.format === "parquet";
    const counters = env.counters;
    const quarantine = task.onBadRecord === "quarantine" ? new formats.QuarantineSink(quarantineFile(task, env, formats.expandOutputPattern)) : undefined;
    const rejects = task.onBadRecord === "skip" ? new formats.RejectCounter() : quarantine;
    const name = split.start > 0 ? `${split.path} (split from byte ${split.start})` : split.path;
    try {
      const opts = { columns: parquet ? task.columns : undefined, filter: parquet && task.where ? toRowFilter(task.where) : undefined, rejects };
      for await (const batch of formats.readSplit(split, opts)) {
        // Parquet batches count rows from 0; JSONL lines from 1.
        moveCursor(env.cursor, { source: name, first: parquet ? batch.firstLine + 1 : batch.firstLine, unit: parquet ? "row" : "line", lines: batch.lines });
        counters.recordsIn += batch.rows.length;
        counters.bytesIn += batch.bytes;
        if (batch.invalidUtf8) counters.invalidUtf8 = (counters.invalidUtf8 ?? 0) + batch.invalidUtf8;
        yield batch.rows;
      }
      if (rejects && rejects.total > 0) {
        const rejected = (counters.rejected ??= {});
        for (const [reason, n] of Object.entries(rejects.byReason())) if (n > 0) rejected[reason] = (rejected[reason] ?? 0) + n;
      }
      // A quarantine file is kept only when it holds something.
      if (quarantine && quarantine.total > 0) await quarantine.close();
      else await quarantine?.abort();
    } catch (err) {
      await quarantine?.abort();
      throw err;
    }
  },

  describe(input: ReadInput): string {
    const parts = [`read ${input.format === "parquet" ? "parquet" : "(format by extension)"} ${JSON.stringify(input.patterns.map(displayPath))}`];
    if (input.columns) parts.push(`columns=${JSON.stringify(input.columns)} (pushed down)`);
    if (input.where) parts.push(`where ${input.where.map((w) => describeWhere(w).slice(6)).join(" and ")} (pushed down)`);
    if (input.onBadRecord !== "fail") parts.push(`bad records: ${input.onBadRecord}${input.quarantine ? ` to ${JSON.stringify(displayPath(input.quarantine))}` : ""}`);
    return parts.join(" ");
  },
};

/** The quarantine file of one task: `<folder>/shard-NNNNN.jsonl`. */
function quarantineFile(task: SplitTask, env: TaskEnv, expand: (pattern: string, shard: number, total: number) => string): string {
  const folder = (task.quarantine ?? "").replace(/\/+$/, "");
  return `${folder}/${expand("shard-{shard}.jsonl", env.desc.shard, env.desc.shardCount)}`;
}

/** `where` predicates in the reader's filter language (all must hold). */
export function toRowFilter(where: Where[]): Record<string, unknown> {
  const ops: Record<Where["op"], string> = { "==": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", in: "$in" };
  const clauses = where.map((w) => ({ [w.column]: { [ops[w.op]]: w.value } }));
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
}
