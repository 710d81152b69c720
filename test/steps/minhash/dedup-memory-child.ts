/**
 * Child process of the dedup memory test and benchmark. `write <dir> <bytes> <parts>` writes a
 * normalized source of about `bytes` of generated text (Brown vocabulary, seeded, 5 % near copies)
 * into `<dir>/outputs/main`. `dedup <dir> <budgetBytes> <prefix> [threads] [paramsJson]` runs the
 * dedup step over it (the source step hard-links the written parts) after a warm-up run of the same
 * step on a 2 MB input (code, JIT and allocator warmed), and prints one JSON line: RSS before the
 * step, peak RSS (getrusage), the step's result and its wall time.
 */
import { linkSync, mkdirSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { buildGraph } from "../../../src/graph/dag.ts";
import { step } from "../../../src/graph/step.ts";
import { versioned } from "../../../src/graph/versioned.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import { openWriter } from "../../../src/io/formats.ts";
import { minhashDedupStep } from "../../../src/steps/minhash/index.ts";
import { seededUint32 } from "../../../src/steps/minhash/signature.ts";
import { brownParagraphs } from "./corpora.ts";
import { partitionDocs, type FixtureDoc } from "./normalized-fixture.ts";

const [mode, dir, a, b, c, d] = process.argv.slice(2);

async function write(target: string, totalBytes: number, numParts: number): Promise<{ documents: number; bytes: number }> {
  const vocabulary = [...new Set(brownParagraphs(40).join(" ").split(" "))];
  const next = seededUint32(42);
  const docs: FixtureDoc[] = [];
  let bytes = 0;
  let serial = 0;
  while (bytes < totalBytes) {
    let text: string;
    if (docs.length > 10 && next() % 20 === 0) {
      const original = docs[next() % docs.length].text.split(" ");
      text = original.map((w) => (next() % 100 === 0 ? vocabulary[next() % vocabulary.length] : w)).join(" ");
    } else {
      const words: string[] = [];
      for (let i = 0; i < 330; i++) words.push(vocabulary[next() % vocabulary.length]);
      text = words.join(" ");
    }
    serial++;
    docs.push({ id: `${(next() >>> 0).toString(16).padStart(8, "0")}${serial.toString(16).padStart(8, "0")}`, text });
    bytes += text.length;
  }
  const out = path.join(target, "outputs/main");
  mkdirSync(out, { recursive: true });
  const pad = (n: number) => String(n).padStart(5, "0");
  for (const [i, part] of partitionDocs(docs, numParts).entries()) {
    const w = openWriter(path.join(out, `part-${pad(i)}-of-${pad(numParts)}.parquet`), "parquet", { rowGroupRows: 500 });
    await w.write(part.map((x) => ({ id: x.id, text: x.text, source: "generated", source_id: x.id })));
    await w.close();
  }
  return { documents: docs.length, bytes };
}

/** A source step that hard-links the parts written into `from`. */
function linkedSource(name: string, from: string) {
  return step({
    name: `fixtures/${name}`,
    config: { dir: versioned(from) },
    run: async (ctx) => {
      const parts = path.join(from, "outputs/main");
      const to = ctx.path("outputs/main");
      mkdirSync(to, { recursive: true });
      for (const f of readdirSync(parts)) linkSync(path.join(parts, f), path.join(to, f));
    },
  });
}

async function dedup(budget: number, prefix: string, threads: number, params: object): Promise<void> {
  const source = linkedSource("generated", dir);
  const target = minhashDedupStep({ name: "dedup/generated", sources: { generated: source }, params, memoryBudgetBytes: budget, threads, partitions: 8 });
  // Warm up (code, JIT, allocator) with the same step on a small input before the baseline.
  await write(path.join(prefix, "warm-source"), 2_000_000, 4);
  const warm = minhashDedupStep({ name: "dedup/warm-up", sources: { generated: linkedSource("warm", path.join(prefix, "warm-source")) }, params, memoryBudgetBytes: budget, threads, partitions: 8 });
  const warmed = await runGraph(buildGraph([source, warm]), { prefix });
  if (!warmed.ok) throw warmed.failed[0]?.error;
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  const started = performance.now();
  const summary = await runGraph(buildGraph([target]), { prefix });
  const wallMs = performance.now() - started;
  if (!summary.ok) throw summary.failed[0]?.error;
  const outcome = summary.outcomes.find((o) => o.node.name === target.name)!;
  console.log(JSON.stringify({ baselineRss: baseline, peakRss: process.resourceUsage().maxRSS * 1024, wallMs, result: outcome.result, outputPath: outcome.outputPath }));
}

if (mode === "write") console.log(JSON.stringify(await write(dir, Number(a), Number(b))));
else if (mode === "dedup") await dedup(Number(a), b, Number(c ?? 0), d ? JSON.parse(d) : {});
else throw new Error(`unknown mode ${mode}: use write or dedup`);
