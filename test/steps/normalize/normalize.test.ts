/**
 * The normalize step on hand-counted fixtures: JSONL (with raw invalid UTF-8 bytes), JSONL.zst and
 * parquet inputs behind a download-like result; counters for whitespace caps, blank and
 * non-breaking-space-only documents, invalid UTF-8 and exact duplicates; parts sorted by id and
 * co-partitioned by partitionOf; duplicates in outputs/dups under the same partitioning; the
 * keep-first rule; and a clear failure when every record is dropped.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { compress } from "zstd-napi";
import { buildGraph } from "../../../src/graph/dag.ts";
import { step } from "../../../src/graph/step.ts";
import { versioned } from "../../../src/graph/versioned.ts";
import { expandInputs, openWriter, readSplit } from "../../../src/io/formats.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import { partitionOf } from "../../../src/shuffle/index.ts";
import { normalizeStep, type NormalizeResult } from "../../../src/steps/normalize/index.ts";
import { tempDir } from "../../support/kiln-cli.ts";

const line = (o: object) => Buffer.from(JSON.stringify(o) + "\n");
const alpha = Buffer.concat([
  line({ text: "hello   world", source_id: "a1" }), // first occurrence: kept over a0 and b2 although "a0" sorts first
  line({ text: `x${" ".repeat(200)}y`, source_id: "a2" }), // 1 run capped
  line({ text: `p${"\t".repeat(130)}q${"\n".repeat(300)}r`, source_id: "a3" }), // 2 runs capped
  Buffer.from("\n"), // blank line: not a record
  line({ text: "\u00a0\u00a0 \n", source_id: "a4" }), // blank (nbsp): dropped
  line({ text: "", source_id: "a5" }), // empty: dropped
  line({ source_id: "a6", title: "no text" }), // no text field
  line({ text: "hello   world", source_id: "a0", lang: "en" }), // later copy of a1: goes to dups
  line({ text: "shared doc", source_id: "a9" }), // kept over beta's "0b": alpha comes first in the input list
  Buffer.from('{"text":"caf'), Buffer.from([0xff, 0x80]), Buffer.from(' ok","source_id":"a8"}\n'), // 2 invalid bytes
]);
const beta = Buffer.concat([
  line({ text: `x${" ".repeat(250)}y`, source_id: "b1" }), // capped to the same text as a2: duplicate
  line({ text: "hello   world", source_id: "b2" }), // duplicate of a0
  line({ text: "\u00a0", source_id: "b3" }), // nbsp only: dropped
  line({ text: "beta unique", source_id: "b4" }),
  line({ text: "shared doc", source_id: "0b" }), // duplicate of a9
]);
const gamma = Array.from({ length: 300 }, (_, i) => ({ text: `gamma document ${i % 200} ${"lorem ipsum ".repeat(5 + (i % 200) % 7)}`, source_id: `g${i}`, n: i }));

const raw = step({
  name: "fixtures/raw",
  config: { v: versioned(1) },
  run: async (ctx) => {
    await ctx.writeFile("alpha/part-00000-of-00001.jsonl", alpha);
    await ctx.writeFile("beta/part-00000-of-00001.jsonl.zst", compress(beta));
    const w = openWriter(ctx.path("gamma/data.parquet"), "parquet");
    await w.write(gamma);
    await w.close();
    return {
      files: [
        { path: "alpha/part-00000-of-00001.jsonl", source: "alpha" },
        { path: "beta/part-00000-of-00001.jsonl.zst", source: "beta" },
        { path: "gamma/data.parquet", source: "gamma" },
      ],
    };
  },
});

async function rowsOf(file: string): Promise<Record<string, any>[]> {
  const rows: Record<string, any>[] = [];
  for (const split of await expandInputs(file)) for await (const b of readSplit(split)) rows.push(...(b.rows as Record<string, any>[]));
  return rows;
}

describe("normalize step", () => {
  const prefix = tempDir();

  it("counts caps, blanks, invalid UTF-8 and duplicates, and writes sorted co-partitioned parts and dups", async () => {
    const norm = normalizeStep({ name: "normalized/all", input: raw, dedup: "exact", targetPartitionBytes: 2000, threads: 2 });
    const summary = await runGraph(buildGraph([norm]), { prefix });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack)).toBe(true);
    const outcome = summary.outcomes.find((o) => o.node.name === "normalized/all")!;
    const r = outcome.result as NormalizeResult;
    expect(r.counters).toMatchObject({
      records_read: 314,
      whitespace_runs_capped: 4,
      empty_dropped: 3,
      missing_text_dropped: 1,
      invalid_utf8_replaced: 2,
      documents_written: 206,
      duplicates_written: 104,
    });
    expect(r.bySource.alpha.normalized.documents).toBe(6);
    expect(r.bySource.alpha.kept.documents).toBe(5);
    expect(r.bySource.beta.kept.documents).toBe(1);
    expect(r.bySource.gamma.kept.documents).toBe(200);
    expect(r.bySource.gamma.duplicates.documents).toBe(100);
    const M = r.partitioning.partitions;
    expect(M).toBe(Math.ceil(r.estimatedInputBytes / 2000));
    expect(r.estimatedInputBytes).toBe(r.inputBytes + 3 * (r.inputBytes - alpha.length)); // zst and parquet count 4x
    expect(M).toBeGreaterThan(2);
    expect(r.files).toHaveLength(M);

    const kept: Record<string, any>[] = [];
    for (const [p, file] of r.files.entries()) {
      expect(file).toBe(`outputs/main/part-${String(p).padStart(5, "0")}-of-${String(M).padStart(5, "0")}.parquet`);
      const rows = await rowsOf(path.join(outcome.outputPath, file));
      const dups = await rowsOf(path.join(outcome.outputPath, r.dupFiles[p]));
      rows.forEach((row, i) => {
        expect(partitionOf(row.id, M)).toBe(p);
        if (i > 0) expect(rows[i - 1].id < row.id).toBe(true);
      });
      const ids = new Set(rows.map((x) => x.id));
      dups.forEach((d, i) => {
        expect(partitionOf(d.id, M)).toBe(p);
        expect(ids.has(d.id)).toBe(true);
        if (i > 0) expect(dups[i - 1].id <= d.id).toBe(true);
      });
      kept.push(...rows);
    }
    expect(kept).toHaveLength(206);
    expect(kept.find((k) => k.text === "shared doc")).toMatchObject({ source: "alpha", source_id: "a9" });
    const hello = kept.find((k) => k.text === "hello   world")!;
    expect(hello).toMatchObject({ source: "alpha", source_id: "a1" });
    expect(hello.lang).toBeUndefined();
    expect(kept.find((k) => k.source_id === "a8")!.text).toBe("caf\ufffd\ufffd ok");
    expect(kept.find((k) => k.source_id === "a2")!.text).toBe(`x${" ".repeat(128)}y`);
    expect(kept.some((k) => k.source_id === "b1")).toBe(false);
    const allDups = (await Promise.all(r.dupFiles.map((f) => rowsOf(path.join(outcome.outputPath, f))))).flat();
    expect(allDups).toHaveLength(104);
    expect(allDups.filter((d) => d.id === hello.id).map((d) => `${d.source_id}<${d.kept_source_id}`).sort()).toEqual(["a0<a1", "b2<a1"]);
    // gamma's later rows (g200..g299) are the duplicates of g0..g99: the first occurrence is kept, whatever the ids' string order ("g99" > "g299")
    // Byte counters per source and stage equal the UTF-8 lengths of the texts written there.
    const utf8 = (rows: Record<string, any>[], source: string) => rows.filter((x) => x.source === source).reduce((n, x) => n + Buffer.byteLength(x.text), 0);
    for (const source of ["alpha", "beta", "gamma"]) {
      const stages = r.bySource[source];
      expect(stages.kept.bytes, source).toBe(utf8(kept, source));
      expect(stages.duplicates.bytes, source).toBe(utf8(allDups, source));
      expect(stages.normalized.bytes, source).toBe(stages.kept.bytes + stages.duplicates.bytes);
    }
    expect(r.bySource.alpha.read.bytes).toBeGreaterThan(r.bySource.alpha.normalized.bytes); // capped whitespace, blank and dropped records
    const gammaDups = allDups.filter((d) => d.source === "gamma");
    expect(gammaDups).toHaveLength(100);
    expect(gammaDups.every((d) => Number(d.source_id.slice(1)) === Number(d.kept_source_id.slice(1)) + 200)).toBe(true);
  });

  it("with dedup none keeps every copy, reading a glob inline", async () => {
    const norm = normalizeStep({ name: "normalized/none", input: raw, files: "**/*.{jsonl,zst,parquet}", dedup: "none", targetPartitionBytes: 8000, threads: 0 });
    const summary = await runGraph(buildGraph([norm]), { prefix });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack)).toBe(true);
    const outcome = summary.outcomes.find((o) => o.node.name === "normalized/none")!;
    const r = outcome.result as NormalizeResult;
    expect(r.documents).toBe(310);
    expect(r.dupFiles).toEqual([]);
    const M = r.partitioning.partitions;
    let n = 0;
    for (const [p, file] of r.files.entries()) {
      const rows = await rowsOf(path.join(outcome.outputPath, file));
      rows.forEach((row, i) => {
        expect(partitionOf(row.id, M)).toBe(p);
        if (i > 0) expect(rows[i - 1].id <= row.id).toBe(true);
      });
      n += rows.length;
    }
    expect(n).toBe(310);
  });

  it("fails naming the field it read when every record is dropped", async () => {
    const norm = normalizeStep({ name: "normalized/wrong-field", input: raw, textField: "body", threads: 0 });
    const summary = await runGraph(buildGraph([norm]), { prefix });
    expect(summary.ok).toBe(false);
    const err = summary.failed[0].error as Error & { code?: string };
    expect(err.code).toBe("KILN_NORMALIZE_EMPTY");
    expect(err.message).toContain("'body'");
    expect(err.message).toContain("314 read");
  });

  it("fails naming the file, line and field of a record whose text or id has the wrong type", async () => {
    const dir = path.join(prefix, "bad-records");
    await fsp.mkdir(dir, { recursive: true });
    const lines = ['{"text":"fine","id":"a"}', '{"text":"also fine","id":"b"}', '{"text":5,"id":"c"}'];
    await fsp.writeFile(path.join(dir, "bad-text.jsonl"), lines.join("\n") + "\n");
    await fsp.writeFile(path.join(dir, "bad-id.jsonl"), ['{"text":"ok","id":"a"}', '{"text":"ok too","id":["x"]}'].join("\n") + "\n");
    for (const [file, expected] of [
      ["bad-text.jsonl", /bad-text\.jsonl: line 3: field 'text' is number, not text/],
      ["bad-id.jsonl", /bad-id\.jsonl: line 2: id field 'id' is an array, not a string or number/],
    ] as const) {
      const norm = normalizeStep({ name: `normalized/${file}`, input: path.join(dir, file), threads: 0 });
      const summary = await runGraph(buildGraph([norm]), { prefix });
      expect(summary.ok).toBe(false);
      expect(String((summary.failed[0].error as Error).message)).toMatch(expected);
    }
  });
});
