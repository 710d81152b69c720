/**
 * The quality step without sources as classes: rules only (no classifier, no quality_score; each
 * rule set's verdict per document, and per source the share of documents each rule would drop),
 * labels from a field of the documents, and labels from the user's own files read in place.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import { step, type AnyStep } from "../../../src/graph/step.ts";
import { versioned } from "../../../src/graph/versioned.ts";
import { openWriter } from "../../../src/io/formats.ts";
import { partitionOf } from "../../../src/shuffle/index.ts";
import { qualityStep, type QualityStepResult } from "../../../src/steps/quality/index.ts";
import { documentId } from "../../../src/steps/text/index.ts";
import { tempDir } from "../../support/kiln-cli.ts";
import { brownDocuments, spamBodies } from "../minhash/corpora.ts";
import { normalizedSourceStep, readParquetFiles } from "../minhash/normalized-fixture.ts";

async function run(target: AnyStep) {
  const summary = await runGraph(buildGraph([target]), { prefix: tempDir() });
  expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack ?? summary.failed[0]?.error)).toBe(true);
  const out = summary.outcomes.find((o) => o.node.name === target.name)!;
  return { result: out.result as QualityStepResult, outputPath: out.outputPath };
}

const withIds = (texts: string[]) => [...new Map(texts.map((text) => [documentId(text), { id: documentId(text), text }])).values()];
const brown = withIds(brownDocuments({ minWords: 100 }).slice(0, 60));
// Documents each rule set must reject, for reasons counted by hand.
const short = { text: "Too short to count as a document at all.", id: "" };
const lorem = { text: `${brown[0].text}\n\nLorem ipsum dolor sit amet.`, id: "" };
const code = { text: "function f(x) {\n  return x + 1;\n}\nconst y = f(2);\nconsole.log(y);", id: "" };
const crafted = withIds([short.text, lorem.text, code.text]);

describe("quality step modes", () => {
  it("rules only: verdicts per rule set, no classifier, drop rates per rule and source", async () => {
    const q = qualityStep({ name: "quality/rules", sources: { brown: normalizedSourceStep("r-brown", brown, 2), odd: normalizedSourceStep("r-odd", crafted, 1) }, threads: 0 });
    const { result, outputPath } = await run(q);
    expect(result.classifier).toBeNull();
    expect(result.rules).toEqual(["gopher", "c4", "fineweb"]);
    expect(result.attributeNames).not.toContain("quality_score");
    const rows = new Map([...(await readParquetFiles(path.join(outputPath, "*/outputs/main/*.parquet"))).values()].flat().map((r) => [r.id, r.attributes]));
    expect(rows.size).toBe(brown.length + crafted.length);
    for (const attributes of rows.values()) expect(attributes.quality_score ?? null).toBeNull();
    const verdict = (text: string) => rows.get(documentId(text))!;
    expect(verdict(short.text)).toMatchObject({ gopher_pass: false, c4_pass: false });
    expect(verdict(lorem.text).c4_pass).toBe(false);
    expect(verdict(code.text).c4_pass).toBe(false);
    // Brown prose passes C4's document rules nearly always: count the exceptions by the attributes themselves.
    const brownFailC4 = brown.filter((d) => {
      const a = rows.get(d.id)!;
      return a.has_lorem_ipsum !== 0 || a.has_curly_bracket !== 0 || a.sentence_count < 3;
    }).length;
    expect(brown.filter((d) => rows.get(d.id)!.c4_pass === false).length).toBe(brownFailC4);
    // Drop rates: the odd source's 3 documents all fail C4 (2 by rule, 1 short); word_count drops the short one from Gopher.
    expect(result.sources.odd.dropRates.c4.any).toBe(1);
    expect(result.sources.odd.dropRates.c4.has_lorem_ipsum).toBeCloseTo(1 / 3, 9);
    expect(result.sources.odd.dropRates.c4.has_curly_bracket).toBeCloseTo(1 / 3, 9);
    expect(result.sources.odd.dropRates.gopher.word_count).toBeCloseTo(2 / 3, 9);
    expect(result.sources.brown.dropRates.c4.any).toBeCloseTo(brownFailC4 / brown.length, 9);
  }, 60_000);

  it("trains on labels from a field of the documents", async () => {
    const spam = withIds(spamBodies().slice(0, 200));
    const good = withIds(brownDocuments({ minWords: 100 }).slice(100, 300));
    const labelled = step({
      name: "fixtures/labelled",
      config: { v: versioned(Math.random()) },
      run: async (ctx) => {
        const docs = [...good.map((d) => ({ ...d, grade: "keep" })), ...spam.map((d) => ({ ...d, grade: "drop" })), { id: documentId("unlabelled text"), text: "unlabelled text", grade: null }];
        const parts: Record<string, unknown>[][] = [[], []];
        for (const d of docs) parts[partitionOf(d.id, 2)].push({ ...d, source: "mixed", source_id: d.id });
        for (const [i, rows] of parts.entries()) {
          rows.sort((x, y) => (String(x.id) < String(y.id) ? -1 : 1));
          const w = openWriter(ctx.path(`outputs/main/part-0000${i}-of-00002.parquet`), "parquet");
          await w.write(rows);
          await w.close();
        }
      },
    });
    const q = qualityStep({ name: "quality/field", sources: { mixed: labelled }, labels: { from: "field", field: "grade", positive: ["keep"], negative: ["drop"] }, examplesPerClass: 150, rules: ["gopher"], threads: 0 });
    const { result } = await run(q);
    expect(result.classifier?.trainCount).toBe(240);
    expect(result.classifier?.heldOutAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(result.attributeNames).toContain("quality_score");
    expect(result.attributeNames).not.toContain("c4_pass");
  }, 60_000);

  it("trains on the user's own files given per class, read in place", async () => {
    const dir = tempDir("kiln-quality-files-");
    writeFileSync(path.join(dir, "good.jsonl"), brownDocuments({ minWords: 100 }).slice(300, 450).map((body) => JSON.stringify({ body })).join("\n"));
    writeFileSync(path.join(dir, "bad.jsonl"), spamBodies().slice(300, 450).map((body) => JSON.stringify({ body })).join("\n"));
    const q = qualityStep({
      name: "quality/files",
      sources: { brown: normalizedSourceStep("f-brown", brown, 2) },
      labels: { from: "files", positive: [path.join(dir, "good.jsonl")], negative: [path.join(dir, "bad.*")], textField: "body" },
      threads: 0,
    });
    const { result } = await run(q);
    expect(result.classifier?.trainCount).toBe(240);
    expect(result.sources.brown.meanScore).toBeGreaterThan(0.7);
  }, 60_000);
});
