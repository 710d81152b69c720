/**
 * The quality step end to end on real parquet sources and real worker threads: a Brown source
 * (positive), a SpamAssassin spam source (negative) and a third source of unseen Brown and spam
 * documents that is only scored. Checks the co-partitioned, id-sorted attribute files hold every
 * document with every heuristic and a score, the held-out accuracy reported in the result, that the
 * scores separate the unseen documents, and that a bad class name fails before running. Measured:
 * held-out accuracy 0.996 (240 examples), accuracy on the 300 unseen documents 0.955.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import { QUALITY_ATTRIBUTE_NAMES, classifierFromBytes, qualityAttributes, qualityStep, score, type QualityStepResult } from "../../../src/steps/quality/index.ts";
import { documentId } from "../../../src/steps/text/index.ts";
import { tempDir } from "../../support/kiln-cli.ts";
import { brownDocuments, spamBodies } from "../minhash/corpora.ts";
import { normalizedSourceStep, partitionDocs, readParquetFiles } from "../minhash/normalized-fixture.ts";
import { readFileSync } from "node:fs";

const withIds = (texts: string[]) => [...new Map(texts.map((text) => [documentId(text), { id: documentId(text), text }])).values()];
const brown = brownDocuments({ minWords: 100 });
const spam = spamBodies();
// Spread over the corpus's genres: every fourth document for the source, others unseen.
const brownDocs = withIds(brown.filter((_, i) => i % 4 === 0).slice(0, 700));
const spamDocs = withIds(spam.slice(0, 700));
const unseenBrown = withIds(brown.filter((_, i) => i % 4 === 2).filter((_, i) => i % 8 === 0).slice(0, 150));
const unseenSpam = withIds(spam.slice(1500, 1650));
const mixedDocs = [...unseenBrown, ...unseenSpam];

describe("quality step", () => {
  it("trains on the named sources, reports held-out accuracy and scores every document of every source", async () => {
    const q = qualityStep({
      name: "quality/demo",
      sources: { brown: normalizedSourceStep("q-brown", brownDocs, 3), spam: normalizedSourceStep("q-spam", spamDocs, 2), mixed: normalizedSourceStep("q-mixed", mixedDocs, 2) },
      positive: ["brown"],
      negative: ["spam"],
      examplesPerClass: 600,
      threads: 2,
    });
    const summary = await runGraph(buildGraph([q]), { prefix: tempDir() });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack ?? summary.failed[0]?.error)).toBe(true);
    const outcome = summary.outcomes.find((o) => o.node.name === "quality/demo")!;
    const result = outcome.result as QualityStepResult;
    const classifier = result.classifier;
    if (classifier === null) throw new Error("the step trained no classifier");
    expect(classifier.trainCount + classifier.heldOutCount).toBe(1200);
    expect(classifier.heldOutCount).toBe(240);
    expect(classifier.heldOutAccuracy).toBeGreaterThanOrEqual(0.97);
    expect(result.documents).toBe(brownDocs.length + spamDocs.length + mixedDocs.length);

    const model = classifierFromBytes(readFileSync(path.join(outcome.outputPath, classifier.file)));
    const scores = new Map<string, number>();
    for (const [name, docs, parts] of [["brown", brownDocs, 3], ["spam", spamDocs, 2], ["mixed", mixedDocs, 2]] as const) {
      const files = await readParquetFiles(path.join(outcome.outputPath, name, "outputs/main/*.parquet"));
      const expected = partitionDocs(docs, parts);
      expect([...files.keys()].map((p) => path.basename(p))).toEqual(expected.map((_, i) => `part-0000${i}-of-0000${parts}.parquet`));
      [...files.values()].forEach((rows, i) => {
        // Every document of the part, in the part's id order, with every attribute a number and every rule set's verdict.
        expect(rows.map((r) => r.id)).toEqual(expected[i].map((d) => d.id));
        rows.forEach((r, k) => {
          expect(Object.keys(r.attributes).sort()).toEqual([...QUALITY_ATTRIBUTE_NAMES, "gopher_pass", "c4_pass", "fineweb_pass", "quality_score"].sort());
          for (const [name, v] of Object.entries(r.attributes)) expect(name.endsWith("_pass") ? typeof v === "boolean" : Number.isFinite(v)).toBe(true);
          if (k === 0) {
            const text = expected[i][0].text;
            expect(r.attributes.word_count).toBe(qualityAttributes(text).word_count);
            expect(r.attributes.quality_score).toBeCloseTo(score(model, text), 6);
          }
          scores.set(r.id, r.attributes.quality_score);
        });
      });
    }
    // The scores separate documents the classifier never saw.
    console.log(`held-out accuracy ${classifier.heldOutAccuracy.toFixed(3)}`);
    const accuracy = (mixedDocs.filter((d, i) => (scores.get(d.id)! >= 0.5) === (i < unseenBrown.length)).length) / mixedDocs.length;
    console.log(`accuracy on unseen documents ${accuracy.toFixed(3)}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.92);
    expect(result.sources.mixed.documents).toBe(mixedDocs.length);
    expect(result.sources.brown.meanScore).toBeGreaterThan(0.8);
    expect(result.sources.spam.meanScore).toBeLessThan(0.2);
  }, 60_000);

  it("rejects a training class that names no source of the step", () => {
    expect(() => qualityStep({ name: "quality/bad", sources: { a: normalizedSourceStep("qa", brownDocs.slice(0, 5), 1) }, positive: ["a"], negative: ["spam"] })).toThrow(
      /negative source 'spam' is not one of its sources \(a\)/,
    );
  });
});
