/**
 * Runs one task descriptor: read the shard's input, push it through the stage's fused chain, and
 * hand the result to the stage's output (commit a file, write exchange partitions, collect rows,
 * count, fold, or scatter into shuffle partitions; shuffle and join inputs live in shuffle-task.ts).
 * The same function runs in the inline executor and inside pool workers (and is what a remote
 * worker would call). Outputs go to attempt-unique temporary names and are renamed
 * into place only after the whole shard succeeded.
 */
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { fileSystemFor, schemeOf } from "../../io/index.ts";
import { TaskError } from "../../ops/errors.ts";
import type { JsonValue, UserContext } from "../../ops/fn.ts";
import { loadFormats } from "../../ops/formats-api.ts";
import type { FormatWriter } from "../../ops/formats-api.ts";
import type { Where } from "../../ops/logical.ts";
import { emptyCounters } from "../../ops/task.ts";
import type { TaskCounters, TaskDescriptor, TaskSuccess } from "../../ops/task.ts";
import { buildChain, userError } from "./chain.ts";
import type { ChainEnv, Cursor } from "./chain.ts";
import { joinSource, runScatter, shuffleSource } from "./shuffle-task.ts";
import { ExchangeWriter, packr, readExchangeFiles } from "./exchange.ts";
import type { Resolver } from "./resolve.ts";

const ITEM_BATCH = 1024;

export async function runTask(desc: TaskDescriptor, resolve: Resolver): Promise<TaskSuccess> {
  const counters = emptyCounters();
  const ctx: UserContext = {
    shard: desc.shard,
    shardCount: desc.shardCount,
    attempt: desc.attempt,
    counters: {
      increment(name: string, by = 1) {
        counters.user[name] = (counters.user[name] ?? 0) + by;
      },
    },
  };
  const cursor: Cursor = { source: "", first: 1, index: 0, unit: "row", known: false };
  const env: ChainEnv = { ctx, cursor, resolve };
  const attemptTag = `${desc.executionId}-a${desc.attempt}`;

  const out = desc.output;
  if (out.kind === "write" && out.skipExisting && (await fileSystemFor(out.path).exists(out.path))) {
    return { ok: true, counters, output: out.path, skipped: true };
  }
  const batches = await buildChain(desc.ops, source(desc, env, counters), env);

  switch (out.kind) {
    case "collect": {
      const rows: unknown[] = [];
      for await (const batch of batches) for (const row of batch) rows.push(row);
      counters.recordsOut = rows.length;
      // An own ArrayBuffer, so the pool can move it to the coordinator instead of copying.
      const packed = new Uint8Array(packr.pack(rows));
      counters.bytesOut = packed.length;
      return { ok: true, counters, rows: packed };
    }
    case "count": {
      let n = 0;
      for await (const batch of batches) n += batch.length;
      counters.recordsOut = n;
      return { ok: true, counters, value: n };
    }
    case "fold": {
      const label = `reduce #${out.opId} fold`;
      const fold = await resolve(out.fold, label);
      let acc: unknown = structuredClone(out.initial);
      for await (const batch of batches) {
        for (const row of batch) {
          try {
            acc = fold(acc, row, ctx);
          } catch (err) {
            throw userError(env, label, err);
          }
        }
        counters.recordsOut += batch.length;
      }
      return { ok: true, counters, value: acc as JsonValue };
    }
    case "scatter":
      return runScatter(desc, out, batches, env, counters);
    case "materialize":
    case "exchange": {
      const writer =
        out.kind === "materialize"
          ? new ExchangeWriter(out.dir, desc.stageId, desc.shard, 1, "single", attemptTag)
          : new ExchangeWriter(out.dir, desc.stageId, desc.shard, out.partitions, out.partitioning, attemptTag);
      try {
        for await (const batch of batches) {
          counters.recordsOut += batch.length;
          await writer.add(batch);
        }
        const files = await writer.commit();
        counters.bytesOut = writer.bytes;
        return { ok: true, counters, exchangeFiles: files };
      } catch (err) {
        await writer.abort();
        throw err;
      }
    }
    case "write": {
      const formats = await loadFormats();
      const temp = temporaryName(out.path, attemptTag);
      let writer: FormatWriter | undefined;
      try {
        writer = formats.openWriter(temp, out.format);
        for await (const batch of batches) {
          counters.recordsOut += batch.length;
          await writer.write(batch);
        }
        const closed = await writer.close();
        writer = undefined;
        counters.bytesOut = closed.bytes;
        await commitByRename(temp, out.path);
        return { ok: true, counters, output: out.path };
      } catch (err) {
        await writer?.abort().catch(() => {});
        await removeQuietly(temp);
        throw err;
      }
    }
  }
}

/** Batches of the task's input, keeping the cursor and the input counters up to date. */
async function* source(desc: TaskDescriptor, env: ChainEnv, counters: TaskCounters): AsyncIterable<unknown[]> {
  const input = desc.input;
  const cursor = env.cursor;
  switch (input.kind) {
    case "shuffle":
      yield* shuffleSource(desc, input, env, counters);
      return;
    case "join":
      yield* joinSource(desc, input, env, counters);
      return;
    case "items": {
      for (let i = 0; i < input.items.length; i += ITEM_BATCH) {
        const rows = input.items.slice(i, i + ITEM_BATCH);
        Object.assign(cursor, { source: `inline items of shard ${desc.shard}`, first: input.firstIndex + i + 1, unit: "row", known: true });
        counters.recordsIn += rows.length;
        yield rows;
      }
      return;
    }
    case "exchange": {
      for await (const rows of readExchangeFiles(input.files, cursor, (n) => (counters.bytesIn += n))) {
        counters.recordsIn += rows.length;
        yield rows;
      }
      return;
    }
    case "split": {
      const formats = await loadFormats();
      const split = input.split;
      const parquet = split.format === "parquet";
      const opts: { columns?: string[]; filter?: Record<string, unknown> } = {};
      if (parquet && input.columns) opts.columns = input.columns;
      if (parquet && input.where) opts.filter = toRowFilter(input.where);
      const name = split.start > 0 ? `${split.path} (split from byte ${split.start})` : split.path;
      for await (const batch of formats.readSplit(split, opts)) {
        // Parquet batches count rows from 0; JSONL lines from 1.
        Object.assign(cursor, { source: name, first: parquet ? batch.firstLine + 1 : batch.firstLine, unit: parquet ? "row" : "line", known: true });
        counters.recordsIn += batch.rows.length;
        counters.bytesIn += batch.bytes;
        yield batch.rows;
      }
      return;
    }
  }
}

/** `where` predicates in the reader's filter language (all must hold). */
export function toRowFilter(where: Where[]): Record<string, unknown> {
  const ops: Record<Where["op"], string> = { "==": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", in: "$in" };
  const clauses = where.map((w) => ({ [w.column]: { [ops[w.op]]: w.value } }));
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
}

function temporaryName(final: string, attemptTag: string): string {
  const slash = final.lastIndexOf("/");
  return `${final.slice(0, slash + 1)}.tmp-${attemptTag}-${final.slice(slash + 1)}`;
}

async function commitByRename(temp: string, final: string): Promise<void> {
  if (schemeOf(final) === "file") {
    await rename(localPath(temp), localPath(final));
    return;
  }
  // Object stores have no rename: copy (atomic per object) then drop the temporary object.
  const fs = fileSystemFor(final);
  try {
    await fs.copy(temp, final, fs);
  } catch (err) {
    throw new TaskError(`cannot commit ${temp} to ${final}: ${(err as Error).message}`, "check write access to the output location", { cause: err });
  }
  await fs.delete(temp);
}

async function removeQuietly(file: string): Promise<void> {
  if (schemeOf(file) === "file") await rm(localPath(file), { force: true }).catch(() => {});
  else await fileSystemFor(file).delete(file).catch(() => {});
}

function localPath(p: string): string {
  return p.startsWith("file://") ? new URL(p).pathname : path.resolve(p);
}
