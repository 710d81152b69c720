/**
 * Quality throughput and accuracy, one core: `qualityAttributes` on Brown documents and on
 * SpamAssassin spam bodies (documents/s, MB/s), and the hashed-n-gram classifier — training time,
 * scoring documents/s, and held-out accuracy (Brown positive vs spam negative, 20 % held out,
 * seeds 1–3, 2^20 buckets, unigrams + bigrams and unigrams only). Input cycles the corpora up to
 * KILN_BENCH_BYTES (default: Brown once ≈ 6 MB plus every spam body once). Medians of
 * KILN_BENCH_RUNS (3). No external peer is run: none is installed for these heuristics.
 * Run: node --import tsx benchmarks/quality-throughput.bench.ts  (writes benchmarks/results/quality-throughput.json)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { qualityAttributes, score, train, type TrainingExample } from "../src/steps/quality/index.ts";
import { brownDocuments, spamBodies } from "../test/steps/minhash/corpora.ts";
import { median, timeRuns, wallLog } from "./support/cpu-timing.ts";



function cycle(base: string[], targetBytes: number): { docs: string[]; bytes: number } {
  const docs: string[] = [];
  let bytes = 0;
  for (let i = 0; i < base.length || bytes < targetBytes; i++) {
    const doc = base[i % base.length];
    docs.push(doc);
    bytes += Buffer.byteLength(doc);
    if (i >= base.length - 1 && bytes >= targetBytes) break;
  }
  return { docs: JSON.parse(JSON.stringify(docs)) as string[], bytes };
}

function main(): void {
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const targetBytes = Number(process.env.KILN_BENCH_BYTES ?? 0);
  const brownBase = brownDocuments({ minWords: 200 });
  const spamBase = spamBodies();
  const heuristics: Record<string, unknown> = {};
  for (const [name, base] of [
    ["brown", brownBase],
    ["spam", spamBase],
  ] as const) {
    const { docs, bytes } = cycle(base, targetBytes);
    const ms = timeRuns(runs, () => {
      for (const doc of docs) qualityAttributes(doc);
    }, `heuristics_${name}`);
    heuristics[name] = {
      documents: docs.length,
      bytes,
      cpu_ms_median: Math.round(median(ms)),
      docs_per_s: Math.round(docs.length / (median(ms) / 1000)),
      mb_per_s: +(bytes / 1e6 / (median(ms) / 1000)).toFixed(2),
      all_cpu_ms: ms.map(Math.round),
    };
  }

  const brownShort = brownDocuments({ minWords: 100 });
  const examples: TrainingExample[] = [
    ...brownShort.slice(0, 1500).map((text) => ({ text, label: 1 as const })),
    ...spamBase.slice(0, 1500).map((text) => ({ text, label: 0 as const })),
  ];
  const classifier: Record<string, unknown>[] = [];
  for (const bigrams of [true, false]) {
    for (const seed of [1, 2, 3]) {
      let model!: ReturnType<typeof train>;
      const [trainMs] = timeRuns(1, () => {
        model = train(examples, { seed, bigrams, heldOutFraction: 0.2 });
      }, "classifier_train");
      const scoreDocs = [...brownShort.slice(3000, 4000), ...spamBase.slice(1500)];
      const scoreMs = median(timeRuns(runs, () => {
        for (const doc of scoreDocs) score(model, doc);
      }, "classifier_score"));
      classifier.push({
        seed,
        bigrams,
        buckets: model.buckets,
        train_examples: model.metrics.trainCount,
        held_out_examples: model.metrics.heldOutCount,
        train_accuracy: +model.metrics.trainAccuracy.toFixed(4),
        held_out_accuracy: +model.metrics.heldOutAccuracy.toFixed(4),
        held_out_log_loss: +model.metrics.heldOutLogLoss.toFixed(4),
        train_cpu_ms_5_epochs: Math.round(trainMs),
        score_docs_per_s: Math.round(scoreDocs.length / (scoreMs / 1000)),
      });
    }
  }

  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
  } catch {}
  const result = {
    benchmark: "quality-throughput",
    commit,
    date: new Date().toISOString(),
    machine: "2 cores shared by several concurrent jobs (noisy, load average ~10 while measuring)",
    timing: "medians of CPU time (user+system) of the single benchmark thread, so rates are per core; wall times under wall_ms",
    node: process.version,
    runs,
    heuristics,
    classifier,
    wall_ms: wallLog,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  mkdirSync(path.join(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(path.join(import.meta.dirname, "results", "quality-throughput.json"), JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
}

main();
