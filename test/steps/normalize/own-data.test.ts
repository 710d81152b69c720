/**
 * The normalize step on the user's own files, read in place: a local JSONL given by path keeps the
 * user's ids (an `id` field by default, any field with idField) as `source_id` while `id` stays the
 * content hash, and nothing of the input is copied into the output; exact dedup keeps the FIRST
 * occurrence in input order (files in the order given, then lines), also across byte-range splits
 * of one file and whatever the ids sort like; a JSONL served over http is read in place with range
 * requests, split by byte ranges; a tokenize step on the normalize step reads only the kept
 * documents, never outputs/dups.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import type { AnyStep } from "../../../src/graph/step.ts";
import { expandInputs, readSplit } from "../../../src/io/formats.ts";
import { normalizeStep, type NormalizeResult } from "../../../src/steps/normalize/index.ts";
import { documentId } from "../../../src/steps/text/index.ts";
import { tokenizeStep } from "../../../src/steps/tokenize/tokenize-step.ts";
import { filesBelow, tempDir } from "../../support/kiln-cli.ts";
import { startServer, type TestServer } from "../download/http-fixture.ts";

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

async function run(target: AnyStep, prefix = tempDir()) {
  const summary = await runGraph(buildGraph([target]), { prefix });
  expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack ?? summary.failed[0]?.error)).toBe(true);
  const out = summary.outcomes.find((o) => o.node.name === target.name)!;
  return { result: out.result as NormalizeResult & Record<string, any>, outputPath: out.outputPath };
}

async function rowsBelow(folder: string): Promise<Record<string, any>[]> {
  const rows: Record<string, any>[] = [];
  for (const split of await expandInputs(path.join(folder, "*.parquet"))) for await (const b of readSplit(split)) rows.push(...(b.rows as Record<string, any>[]));
  return rows;
}

/** A serving route that honours `Range: bytes=a-b` (and HEAD), recording the ranges asked for. */
function serveRanges(body: Buffer, ranges: string[]) {
  return (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (!m) return void res.writeHead(200, { "content-length": body.length }).end(req.method === "HEAD" ? undefined : body);
    ranges.push(req.headers.range ?? "");
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
    if (start >= body.length) return void res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
    res.writeHead(206, { "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${body.length}` }).end(body.subarray(start, end + 1));
  };
}

describe("normalize on the user's own data", () => {
  const data = tempDir("kiln-own-data-");
  // Ids that sort the other way round from input order: the first occurrence must win anyway.
  const first = [
    { id: "zz-1", text: "the same words twice", lang: "en" },
    { id: "mm-2", text: "a text of its own" },
    { id: "aa-3", text: "the same words twice" }, // a later line of the same file: a duplicate
  ];
  const second = [
    { uid: 7, text: "a text of its own", note: "second file" }, // a duplicate of first.jsonl's line 2
    { uid: 8, text: "unique to the second file" },
  ];
  beforeAll(() => {
    writeFileSync(path.join(data, "z-first.jsonl"), jsonl(first));
    writeFileSync(path.join(data, "a-second.jsonl"), jsonl(second));
  });

  it("reads a local JSONL in place, keeping the user's id as source_id and the content hash as id", async () => {
    const norm = normalizeStep({ name: "normalized/mine", input: path.join(data, "z-first.jsonl"), threads: 0 });
    const { result, outputPath } = await run(norm);
    const kept = await rowsBelow(path.join(outputPath, "outputs/main"));
    expect(kept.map((r) => [r.source_id, r.id, r.lang ?? null]).sort()).toEqual(
      [
        ["mm-2", documentId("a text of its own"), null],
        ["zz-1", documentId("the same words twice"), "en"],
      ].sort(),
    );
    expect(result.inputFiles).toBe(1);
    expect(kept.every((r) => r.source === "z-first")).toBe(true);
    // Read in place: the output holds the normalized parts and the markers, no copy of the input.
    expect(filesBelow(outputPath).filter((f) => !f.startsWith(".kiln") && !/^outputs\/(main|dups)\/part-\d{5}-of-\d{5}\.parquet$/.test(f))).toEqual([]);
  });

  it("keeps the first occurrence in input order: files in the order given, then lines, across byte-range splits", async () => {
    // A third file large enough to be read in several byte ranges, whose first and last lines repeat a text.
    const filler = Array.from({ length: 400 }, (_, i) => ({ key: `k${String(399 - i).padStart(3, "0")}`, text: i === 0 || i === 399 ? "repeated at both ends" : `filler line ${i} ${"x".repeat(40)}` }));
    writeFileSync(path.join(data, "big.jsonl"), jsonl(filler));
    const norm = normalizeStep({
      name: "normalized/ordered",
      input: [path.join(data, "z-first.jsonl"), path.join(data, "a-second.jsonl"), path.join(data, "big.jsonl")],
      splitBytes: 4096,
      threads: 2,
    });
    const { result, outputPath } = await run(norm);
    const kept = await rowsBelow(path.join(outputPath, "outputs/main"));
    const dups = await rowsBelow(path.join(outputPath, "outputs/dups"));
    const keptOf = (text: string) => kept.find((r) => r.text === text);
    // "the same words twice": line 1 (id zz-1) beats line 3 (id aa-3), although "aa-3" sorts first.
    expect(keptOf("the same words twice")?.source_id).toBe("zz-1");
    // "a text of its own": z-first.jsonl was given first, although "a-second.jsonl" sorts first.
    expect(keptOf("a text of its own")?.source).toBe("z-first");
    const named = dups.map((d) => [d.source, d.source_id, d.kept_source, d.kept_source_id]).sort();
    expect(named.filter(([source]) => source !== "big")).toEqual([
      ["a-second", "a-second.jsonl:1", "z-first", "mm-2"],
      ["z-first", "aa-3", "z-first", "zz-1"],
    ]);
    // The last line of big.jsonl is in a later split: named by the split's start byte and its line there.
    const [bigDup] = named.filter(([source]) => source === "big");
    expect(bigDup[1]).toMatch(/^big\.jsonl@\d+:\d+$/);
    expect(bigDup.slice(2)).toEqual(["big", "big.jsonl:1"]);
    expect(result.inputBytes).toBeGreaterThan(4 * 4096);
    expect(result.duplicates).toBe(3);
  });

  it("takes the user's id from any field with idField", async () => {
    const norm = normalizeStep({ name: "normalized/uid", input: path.join(data, "a-second.jsonl"), idField: "uid", source: "mine", threads: 0 });
    const { outputPath } = await run(norm);
    const kept = await rowsBelow(path.join(outputPath, "outputs/main"));
    expect(kept.map((r) => [r.source, r.source_id, r.uid]).sort()).toEqual([["mine", "7", 7], ["mine", "8", 8]]);
  });

  describe("over http", () => {
    let server: TestServer;
    const ranges: string[] = [];
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: `web-${i}`, text: i % 100 === 99 ? "served twice" : `served document ${i} ${"y".repeat(30)}` }));
    const body = Buffer.from(jsonl(rows));
    beforeAll(async () => {
      server = await startServer();
      server.route("/data/docs.jsonl", serveRanges(body, ranges));
    });
    afterAll(() => server.close());

    it("reads a JSONL URL in place with byte-range requests, and tokenize reads only the kept documents", async () => {
      const norm = normalizeStep({ name: "normalized/web", input: server.url("/data/docs.jsonl"), splitBytes: 4096, threads: 2 });
      const tok = tokenizeStep({ name: "tokenized/web", input: norm, tokenizer: "bytes", threads: 0 });
      const prefix = tempDir();
      const { result, outputPath } = await run(norm, prefix);
      expect(result.documents).toBe(298);
      expect(result.duplicates).toBe(2);
      const kept = await rowsBelow(path.join(outputPath, "outputs/main"));
      expect(kept.find((r) => r.text === "served twice")?.source_id).toBe("web-99");
      // More than one split, each asked for with its own byte range.
      expect(new Set(ranges).size).toBeGreaterThan(Math.floor(body.length / 4096));
      const tokenized = await runGraph(buildGraph([tok]), { prefix });
      expect(tokenized.ok, String(tokenized.failed[0]?.error)).toBe(true);
      const t = tokenized.outcomes.find((o) => o.node.name === "tokenized/web")!.result as { splits: Record<"train" | "validation", { documents: number }> };
      expect(t.splits.train.documents + t.splits.validation.documents).toBe(298);
    });
  });
});
