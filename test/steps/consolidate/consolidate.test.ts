/**
 * The consolidate step against a reference written here: a 3-part source and two attribute
 * datasets (parquet and jsonl.zst) co-partitioned with it; drop-true, threshold and fraction filters
 * with keep-if-missing; the fraction cut from the mergeable sketch compared with the exact quantile;
 * per-filter removed counts; and clear failures for an unsorted attribute file, an attribute id not
 * in its source part, and a missing attribute file.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { step } from "../../../src/graph/step.ts";
import { versioned } from "../../../src/graph/versioned.ts";
import { expandInputs, openWriter, readSplit } from "../../../src/io/formats.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import { partitionOf } from "../../../src/shuffle/index.ts";
import { documentId } from "../../../src/steps/text/index.ts";
import { consolidateStep, firstRejecting, resolveFilters, type ConsolidateFilter, type ConsolidateResult } from "../../../src/steps/consolidate/index.ts";
import { tempDir } from "../../support/kiln-cli.ts";

const M = 3;
const part = (p: number) => `outputs/main/part-${String(p).padStart(5, "0")}-of-${String(M).padStart(5, "0")}`;

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const random = rng(7);
const docs = Array.from({ length: 600 }, (_, i) => {
  const text = i === 17 ? "   " : `document ${i} ${"text ".repeat(i % 9)}`;
  return { id: documentId(`${i}:${text}`), text, source: i % 2 ? "odd" : "even", source_id: `d${i}`, i };
});
const byPart = Array.from({ length: M }, (_, p) => docs.filter((d) => partitionOf(d.id, M) === p).sort((a, b) => (a.id < b.id ? -1 : 1)));
const attrsA = new Map(docs.filter((d) => d.i % 5 !== 0).map((d) => [d.id, { is_dup: d.i % 7 === 0, score: Math.round(random() * 1e6) / 1e6 }]));
const attrsB = new Map(docs.filter((d) => d.i % 10 !== 3).map((d) => [d.id, { quality: d.i % 11 === 0 ? -0.5 : (d.i % 13) / 12 }]));

const source = step({
  name: "fixtures/source",
  config: { v: versioned(1) },
  run: async (ctx) => {
    for (let p = 0; p < M; p++) {
      const w = openWriter(ctx.path(`${part(p)}.parquet`), "parquet");
      await w.write(byPart[p].map(({ i: _i, ...d }) => d));
      await w.close();
    }
    return { files: byPart.map((_, p) => `${part(p)}.parquet`) };
  },
});

function attributeStep(name: string, values: Map<string, Record<string, unknown>>, format: "parquet" | "jsonl.zst", mangle?: (rows: object[], p: number) => object[]) {
  return step({
    name,
    config: { v: versioned(format) },
    run: async (ctx) => {
      for (let p = 0; p < M; p++) {
        let rows: object[] = byPart[p].filter((d) => values.has(d.id)).map((d) => ({ id: d.id, attributes: values.get(d.id) }));
        if (mangle) rows = mangle(rows, p);
        const w = openWriter(ctx.path(`${part(p)}.${format}`), format);
        await w.write(rows);
        await w.close();
      }
    },
  });
}

const quality = attributeStep("fixtures/attr-a", attrsA, "parquet");
const classifier = attributeStep("fixtures/attr-b", attrsB, "jsonl.zst");

async function rowsOf(file: string): Promise<Record<string, any>[]> {
  const rows: Record<string, any>[] = [];
  for (const split of await expandInputs(file)) for await (const b of readSplit(split)) rows.push(...(b.rows as Record<string, any>[]));
  return rows;
}

describe("consolidate step", () => {
  const prefix = tempDir();

  it("applies drop-true, threshold and fraction filters like the reference, with per-filter counts", async () => {
    const filters: ConsolidateFilter[] = [
      { type: "drop-true", attribute: "is_dup" },
      { type: "threshold", attribute: "quality", min: 0, max: 0.9, keepIfMissing: true },
      { type: "fraction", attribute: "score", keep: 0.6 },
    ];
    const cons = consolidateStep({ name: "consolidated/test", input: source, attributes: { a: quality, b: classifier }, filters, threads: 2 });
    const summary = await runGraph(buildGraph([cons]), { prefix });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack)).toBe(true);
    const outcome = summary.outcomes.find((o) => o.node.name === "consolidated/test")!;
    const r = outcome.result as ConsolidateResult;

    // The sketch's cut is within its relative accuracy of the exact quantile.
    const scores = [...attrsA.values()].map((a) => a.score).sort((x, y) => x - y);
    const exact = scores[Math.floor(0.4 * (scores.length - 1))];
    const cut = r.cuts["fraction:score"];
    expect(Math.abs(cut - exact)).toBeLessThanOrEqual(0.005 * exact + 1e-9);
    const keptByScore = scores.filter((s) => s >= cut).length / scores.length;
    expect(Math.abs(keptByScore - 0.6)).toBeLessThan(0.02);

    // Reference: the same rules evaluated here, document by document.
    const resolved = resolveFilters(filters, r.cuts);
    const removed: Record<string, number> = { "drop-true:is_dup": 0, "threshold:quality": 0, "fraction:score": 0 };
    const expected: string[] = [];
    let empty = 0;
    for (const d of docs) {
      const attributes = { ...attrsA.get(d.id), ...attrsB.get(d.id) };
      const rejected = firstRejecting(resolved, attributes);
      if (rejected) removed[rejected]++;
      else if (d.text.trim() === "") empty++;
      else expected.push(d.id);
    }
    // And by hand for the first two filters: is_dup true (i % 7 == 0 with attrs) removes, quality -0.5 or 1.0 removes.
    const dupRemoved = docs.filter((d) => attrsA.get(d.id)?.is_dup === true).length;
    expect(removed["drop-true:is_dup"]).toBe(dupRemoved);
    const qualityRemoved = docs.filter((d) => {
      const q = attrsB.get(d.id)?.quality;
      return attrsA.get(d.id)?.is_dup !== true && q !== undefined && (q < 0 || q > 0.9);
    }).length;
    expect(removed["threshold:quality"]).toBe(qualityRemoved);
    expect(r.removed).toEqual(removed);
    expect(r.emptyText).toBe(empty);
    expect(r.inputDocuments).toBe(600);
    expect(r.documents).toBe(expected.length);
    expect(Object.values(removed).every((n) => n > 0)).toBe(true);

    const got: string[] = [];
    for (const [p, f] of r.files.entries()) {
      expect(f).toBe(`${part(p)}.parquet`);
      const rows = await rowsOf(path.join(outcome.outputPath, f));
      rows.forEach((row, i) => {
        expect(partitionOf(row.id, M)).toBe(p);
        if (i > 0) expect(rows[i - 1].id < row.id).toBe(true);
      });
      got.push(...rows.map((x) => x.id));
    }
    expect(got.sort()).toEqual(expected.sort());
    expect(r.bySource.odd.kept.documents + r.bySource.even.kept.documents).toBe(expected.length);
  });

  it("keepIfMissing on a fraction filter keeps documents without the score", async () => {
    const filters: ConsolidateFilter[] = [{ type: "fraction", attribute: "score", keep: 0.5, keepIfMissing: true, highest: false }];
    const cons = consolidateStep({ name: "consolidated/missing", input: source, attributes: { a: quality }, filters, threads: 0 });
    const summary = await runGraph(buildGraph([cons]), { prefix });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack)).toBe(true);
    const r = summary.outcomes.find((o) => o.node.name === "consolidated/missing")!.result as ConsolidateResult;
    const missing = docs.filter((d) => !attrsA.has(d.id)).length;
    const lowScores = docs.filter((d) => attrsA.has(d.id) && attrsA.get(d.id)!.score <= r.cuts["fraction:score"]).length;
    const emptyKeptOtherwise = attrsA.has(docs[17].id) && attrsA.get(docs[17].id)!.score > r.cuts["fraction:score"] ? 0 : 1;
    expect(r.documents).toBe(missing + lowScores - emptyKeptOtherwise);
    expect(r.removed["fraction:score"]).toBe(600 - missing - lowScores);
  });

  it("fails clearly on an unsorted attribute file, on ids not in the source, and on a missing file", async () => {
    const unsorted = attributeStep("fixtures/attr-unsorted", attrsA, "parquet", (rows, p) => (p === 1 ? [rows[1], rows[0], ...rows.slice(2)] : rows));
    const foreign = attributeStep("fixtures/attr-foreign", attrsA, "jsonl.zst", (rows, p) => (p === 2 ? [...rows, { id: "f".repeat(32), attributes: { score: 1 } }] : rows));
    const cases = [
      { attr: unsorted, code: "KILN_JOIN_INPUT", text: [`${part(1)}.parquet row 2`, "right input is not sorted by its key"] },
      { attr: foreign, code: "KILN_NOT_COPARTITIONED", text: [`${part(2)}.jsonl.zst`, "not in the source part"] },
    ];
    for (const [k, c] of cases.entries()) {
      const cons = consolidateStep({ name: `consolidated/bad-${k}`, input: source, attributes: { a: c.attr }, filters: [{ type: "drop-true", attribute: "is_dup" }], threads: 0 });
      const summary = await runGraph(buildGraph([cons]), { prefix });
      expect(summary.ok).toBe(false);
      const err = summary.failed[0].error as Error & { code?: string };
      expect(err.code).toBe(c.code);
      for (const t of c.text) expect(err.message).toContain(t);
    }
    const missing = step({ name: "fixtures/attr-missing", config: { v: versioned(2) }, run: async (ctx) => ctx.writeFile(`${part(0)}.parquet`, "") });
    const cons = consolidateStep({ name: "consolidated/bad-missing", input: source, attributes: { a: missing }, threads: 0 });
    const summary = await runGraph(buildGraph([cons]), { prefix });
    expect(summary.ok).toBe(false);
    expect((summary.failed[0].error as Error).message).toContain(`has no file for source part ${part(1)}`);
  });
});
