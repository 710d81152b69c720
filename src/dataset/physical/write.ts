/**
 * Physical operator `write`: each task writes its shard's rows to files named by patterns with
 * `{shard}` and `{total}` (jsonl, jsonl.zst, parquet, or token shards). Several targets make a routed
 * write: a user function names each row's target (tag), e.g. kept documents to `outputs/main` and
 * duplicates to `outputs/dups`. Files are written under attempt-unique temporary names and renamed
 * into place only after the whole shard succeeded (object stores: copied, then the temporary object
 * dropped). Parquet files carry their schema even when empty: the declared `schema`, or, without
 * one, the schema of the first non-empty file of the same target, applied after the stage.
 * `omitEmpty` writes no file for a target that got no rows; `skipExisting` skips a shard whose files
 * all exist.
 */
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { DatasetPlanError, TaskError } from "../errors.ts";
import type { FnSpec } from "../fn.ts";
import type { WriteOp, WriteTarget } from "../logical.ts";
import { describeFn, displayPath } from "../plan/describe.ts";
import type { PlanContext, TaskEnv } from "../exec/context.ts";
import { userError } from "../row/runtime.ts";
import { loadFormats } from "../formats-api.ts";
import { fileSystemFor, schemeOf } from "../../io/index.ts";
import { TokenShardWriter } from "../../io/token-shards.ts";
import type { WriteOutput, WriteSettings } from "../plan/physical.ts";
import type { WriteTaskOutput, WrittenFile, TaskSuccess } from "../exec/task.ts";



interface OpenFile {
  write(rows: unknown[]): Promise<void>;
  close(): Promise<{ rows: number; bytes: number }>;
  abort(): Promise<void>;
}

export const writeOperator = {
  plan(op: WriteOp): WriteOutput {
    const { id, kind: _kind, ...settings } = op;
    return { kind: "write", opId: id, ...settings };
  },

  async outputTasks(out: WriteOutput, shardCount: number): Promise<WriteTaskOutput[]> {
    const formats = await loadFormats();
    const { opId, targets, kind: _kind, ...settings } = out;
    const tasks = Array.from({ length: shardCount }, (_, s) => ({
      kind: "write" as const,
      opId,
      ...settings,
      files: targets.map((t) => ({ tag: t.tag, path: formats.expandOutputPattern(t.pattern, s, shardCount) })),
    }));
    const all = tasks.flatMap((t) => t.files.map((f) => f.path));
    if (new Set(all).size !== all.length) {
      throw new DatasetPlanError(
        `write #${opId}: the pattern(s) ${targets.map((t) => JSON.stringify(t.pattern)).join(", ")} give the same file to several of the ${shardCount} shards or targets`,
        "put {shard} in every pattern and give each target its own name, e.g. 'out/part-{shard}-of-{total}.parquet'",
      );
    }
    return tasks;
  },

  async run(out: WriteTaskOutput, batches: AsyncIterable<unknown[]>, env: TaskEnv): Promise<TaskSuccess> {
    const { counters } = env;
    if (out.skipExisting && (await allExist(out.files.map((f) => f.path)))) {
      return { ok: true, counters, skipped: true, files: out.files.map((f) => ({ ...f, rows: -1, bytes: 0 })) };
    }
    const route = out.route ? await routeFunction(out.route, out, env) : () => out.files[0].tag;
    const open = new Map<string, { file: OpenFile; temp: string }>();
    const entryFor = async (target: { tag: string; path: string }) => {
      let entry = open.get(target.tag);
      if (!entry) {
        const temp = temporaryName(target.path, env.attemptTag);
        entry = { file: await openFile(temp, out), temp };
        open.set(target.tag, entry);
      }
      return entry;
    };
    const targets = new Map(out.files.map((f) => [f.tag, f]));
    try {
      const byTag = new Map<string, unknown[]>();
      for await (const batch of batches) {
        for (const row of batch) {
          const tag = route(row);
          let rows = byTag.get(tag);
          if (!rows) byTag.set(tag, (rows = []));
          rows.push(row);
        }
        for (const [tag, rows] of byTag) {
          const target = targets.get(tag);
          if (rows.length === 0 || !target) continue;
          counters.recordsOut += rows.length;
          await (await entryFor(target)).file.write(rows.splice(0));
        }
      }
      const files: WrittenFile[] = [];
      for (const target of out.files) {
        if (!open.has(target.tag)) {
          if (out.omitEmpty) continue;
          if (out.format === "parquet" && !out.schema) {
            files.push({ ...target, rows: 0, bytes: 0, deferred: true });
            continue;
          }
        }
        const entry = await entryFor(target);
        const closed = await entry.file.close();
        counters.bytesOut += closed.bytes;
        await commitByRename(entry.temp, target.path);
        files.push({ ...target, rows: closed.rows, bytes: closed.bytes });
      }
      return { ok: true, counters, files };
    } catch (err) {
      for (const { file, temp } of open.values()) {
        await file.abort().catch(() => {});
        await removeQuietly(temp);
      }
      throw err;
    }
  },

  /** Writes the deferred empty parquet files with the schema of their target's first non-empty file. */
  async finish(out: WriteOutput, results: TaskSuccess[]): Promise<void> {
    const files = results.flatMap((r) => r.files ?? []);
    const deferred = files.filter((f) => f.deferred);
    if (deferred.length === 0) return;
    const formats = await loadFormats();
    for (const target of out.targets) {
      const empties = deferred.filter((f) => f.tag === target.tag);
      if (empties.length === 0) continue;
      const model = files.find((f) => f.tag === target.tag && !f.deferred && f.rows !== 0);
      const schema = model ? await formats.readParquetSchema(model.path) : undefined;
      for (const f of empties) {
        const closed = await formats.openWriter(f.path, "parquet", schema ? { schema } : {}).close();
        f.bytes = closed.bytes;
        delete f.deferred;
      }
    }
  },

  /** The execution's result: the committed paths (per target for a routed write) and every file with its rows. */
  result(out: WriteOutput, results: TaskSuccess[]): { outputs: string[] | Record<string, string[]>; files: WrittenFile[] } {
    const files = results.flatMap((r) => r.files ?? []);
    if (!out.route) return { outputs: files.map((f) => f.path), files };
    const outputs: Record<string, string[]> = Object.fromEntries(out.targets.map((t) => [t.tag, []]));
    for (const f of files) outputs[f.tag].push(f.path);
    return { outputs, files };
  },

  describe(out: WriteOutput): string {
    const where = out.targets.map((t) => `${out.route ? `${t.tag}: ` : ""}${JSON.stringify(displayPath(t.pattern))}`).join(", ");
    const flags = [out.format, out.skipExisting ? "skipExisting" : "", out.omitEmpty ? "omitEmpty" : "", out.schema ? "declared schema" : ""].filter(Boolean).join(" ");
    return `write ${where} ${flags}${out.route ? ` routed by ${describeFn(out.route)}` : ""} (write #${out.opId})`;
  },
};

async function routeFunction(spec: FnSpec, out: WriteTaskOutput, env: TaskEnv): Promise<(row: unknown) => string> {
  const label = `write #${out.opId} route`;
  const f = await env.resolve(spec, label);
  const tags = new Set(out.files.map((t) => t.tag));
  return (row) => {
    let tag: unknown;
    try {
      tag = f(row, env.ctx);
    } catch (err) {
      throw userError(env, label, err);
    }
    if (typeof tag !== "string" || !tags.has(tag)) {
      throw userError(env, label, new Error(`returned ${JSON.stringify(tag)}, not one of the targets ${[...tags].map((t) => JSON.stringify(t)).join(", ")}`));
    }
    return tag;
  };
}

async function openFile(temp: string, out: WriteTaskOutput): Promise<OpenFile> {
  if (out.format === "tokens") return openTokenFile(temp, out.vocabSize ?? 0);
  const formats = await loadFormats();
  const writer = formats.openWriter(temp, out.format, out.schema ? { schema: out.schema } : {});
  return { write: (rows) => writer.write(rows), close: () => writer.close(), abort: () => writer.abort() };
}

/** Token shards: each row is one document's token ids (an array or a typed array of integers), or an object whose `tokens` field holds them. */
async function openTokenFile(temp: string, vocabSize: number): Promise<OpenFile> {
  const writer = await TokenShardWriter.open(temp, { vocabSize });
  let rows = 0;
  return {
    async write(batch) {
      for (const row of batch) {
        const ids: unknown = isIdArray(row) ? row : row !== null && typeof row === "object" ? Reflect.get(row, "tokens") : undefined;
        if (!isIdArray(ids)) throw new TaskError(`${temp}: a row of a token write is ${typeof row}, not token ids`, "map each document to its token ids (or { tokens }) before writing tokens", { retryable: false });
        await writer.append(ids);
        rows++;
      }
    },
    async close() {
      const r = await writer.close();
      return { rows, bytes: r.bytes };
    },
    abort: () => writer.abort(),
  };
}

function isIdArray(row: unknown): row is ArrayLike<number> {
  if (row === null || typeof row !== "object") return false;
  return Array.isArray(row) || row instanceof Uint32Array || row instanceof Uint16Array || row instanceof Int32Array;
}

async function allExist(paths: string[]): Promise<boolean> {
  for (const p of paths) if (!(await fileSystemFor(p).exists(p))) return false;
  return true;
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
    throw new TaskError(`cannot commit ${temp} to ${final}: ${err instanceof Error ? err.message : String(err)}`, "check write access to the output location", { cause: err });
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

