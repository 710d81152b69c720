/**
 * MinHash dedup speed at equal precision and recall, old and new side by side in one run:
 *   kernel      signatures per CPU-second (shingling included) on ~5 KB documents (consecutive Brown
 *               documents joined until 5,000 characters) at the step's defaults (threshold 0.65 →
 *               47 bands × 6 rows = 282 values): scheme "universal" (one hash per shingle per
 *               permutation) against "densified" (one-permutation hashing, optimal densification),
 *               one thread, CPU time, medians of KILN_BENCH_RUNS;
 *   end to end  the dedup step over the p = 3 copy set (Brown originals of ≥ 200 words, each plus 2
 *               copies with 3 % of their words replaced, seed 7; KILN_BENCH_MINHASH_DOCS documents,
 *               default 3,000) spread over 4 normalized sources of 2 parts: "old" = scheme
 *               "universal" with the components by label propagation through the shuffle
 *               (inMemoryPairs 0), "new" = the defaults. Each side runs in its own process
 *               (minhash-before-after.bench.ts, KILN_BENCH_RUNS runs), measured from outside for
 *               the peak RSS; the step's CPU seconds (every thread), per-phase CPU seconds,
 *               precision and recall come from inside;
 *   profile     with KILN_BENCH_PROFILE=1, one more run of each side under `node --cpu-prof` (every
 *               thread writes its profile), summarised by category (support/cpu-profile-summary.ts).
 * Writes benchmarks/results/minhash-data.json with the commit, input sizes, CPU seconds, wall, peak
 * RSS and the new/old ratios.
 * Run: KILN_BENCH_RUNS=3 node --import tsx benchmarks/minhash-data.bench.ts
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { MinHasher, DensifiedMinHasher, buildCopySet, resolveSettings, type SignatureHasher } from "../src/steps/minhash/index.ts";
import { brownDocuments } from "../test/steps/minhash/corpora.ts";
import { median, timeRuns } from "./support/cpu-timing.ts";
import { summarizeProfiles } from "./support/cpu-profile-summary.ts";
import { runNodeMeasured } from "./support/measured-run.ts";

const RUNS = Number(process.env.KILN_BENCH_RUNS ?? 3);
const DOCS = Number(process.env.KILN_BENCH_MINHASH_DOCS ?? 3000);
const PROFILE = process.env.KILN_BENCH_PROFILE === "1";
const ROOT = path.resolve(import.meta.dirname, "..");
const OLD_OPTIONS = { scheme: "universal", inMemoryPairs: 0 };
const NEW_OPTIONS = {};

function fiveKilobyteDocuments(): string[] {
  const docs: string[] = [];
  let current = "";
  for (const doc of brownDocuments({ minWords: 200 })) {
    current += (current ? "\n\n" : "") + doc;
    if (current.length >= 5000) {
      docs.push(current);
      current = "";
    }
  }
  // Flat strings, as they arrive from JSON.parse, not ropes built by concatenation.
  return JSON.parse(JSON.stringify(docs));
}

function kernel() {
  const docs = fiveKilobyteDocuments();
  const params = resolveSettings({}, "bench").params;
  const out = new Uint32Array(params.numPerm);
  const rate = (hasher: SignatureHasher, label: string) => {
    const ms = timeRuns(RUNS, () => docs.forEach((d) => hasher.signature(d, out)), label);
    return { cpu_ms: ms, signatures_per_cpu_s: Math.round(docs.length / (median(ms) / 1000)) };
  };
  const old = rate(new MinHasher(params), "universal");
  const fresh = rate(new DensifiedMinHasher(params), "densified");
  const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d), 0);
  return {
    input: { documents: docs.length, bytes, mean_doc_bytes: Math.round(bytes / docs.length), params },
    old_universal: old,
    new_densified: fresh,
    ratio_new_over_old: Math.round((fresh.signatures_per_cpu_s / old.signatures_per_cpu_s) * 100) / 100,
  };
}

function writeCopySet(file: string): number {
  const docs = buildCopySet(brownDocuments({ minWords: 200 }), { copies: 2, percent: 3, seed: 7 }).slice(0, DOCS);
  writeFileSync(file, docs.map((d) => JSON.stringify({ id: d.id, text: d.text, group: d.group })).join("\n") + "\n");
  return docs.length;
}

async function endToEnd(input: string, work: string, label: string, options: object, runs: number, profileDir?: string) {
  const out = path.join(work, `${label}.json`);
  const args = [
    ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
    "--import",
    "tsx",
    "benchmarks/minhash-before-after.bench.ts",
    "--input",
    input,
    "--runs",
    String(runs),
    "--label",
    label,
    "--options",
    JSON.stringify(options),
    "--out",
    out,
  ];
  const measured = await runNodeMeasured(args, ROOT);
  if (measured.exitCode !== 0) throw new Error(`${label} failed (${measured.exitCode}):\n${measured.stderr.slice(-3000)}`);
  const inside = JSON.parse(readFileSync(out, "utf8"));
  return {
    options,
    docs_per_cpu_second: inside.docs_per_cpu_second,
    median: inside.median,
    runs: inside.runs,
    process: { cpu_seconds: measured.cpuSeconds, wall_seconds: measured.wallSeconds, peak_rss_mb: Math.round(measured.peakRssMB) },
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), "kiln-minhash-data-"));
  try {
    const kernelResult = kernel();
    console.log(JSON.stringify(kernelResult));
    const input = path.join(work, "copies.jsonl");
    const documents = writeCopySet(input);
    const old = await endToEnd(input, work, "old", OLD_OPTIONS, RUNS);
    const fresh = await endToEnd(input, work, "new", NEW_OPTIONS, RUNS);
    const profiles: Record<string, unknown> = {};
    if (PROFILE) {
      for (const [label, options] of [["old", OLD_OPTIONS], ["new", NEW_OPTIONS]] as const) {
        const dir = path.join(work, `profile-${label}`);
        const run = await endToEnd(input, work, `profile-${label}`, options, 1, dir);
        profiles[label] = { note: "one run under --cpu-prof, whole process (source preparation included); the step's own phases under step_phases", step_phases: run.median.stageCpuSeconds, ...summarizeProfiles(dir) };
      }
    }
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT }).toString().trim();
    const result = {
      benchmark: "minhash-data",
      commit,
      date: new Date().toISOString(),
      node: process.version,
      machine: "2 cores shared with other jobs",
      runs: RUNS,
      kernel: kernelResult,
      end_to_end: {
        input: { corpus: "p = 3 copy set (Brown ≥ 200 words, 2 copies with 3 % of words replaced, seed 7)", documents, sources: 4, parts_per_source: 2 },
        old,
        new: fresh,
        ratio_new_over_old_docs_per_cpu_second: Math.round((fresh.docs_per_cpu_second / old.docs_per_cpu_second) * 100) / 100,
      },
      profiles,
    };
    const file = path.join(ROOT, "benchmarks", "results", "minhash-data.json");
    writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
    console.log(JSON.stringify({ kernel: kernelResult.ratio_new_over_old, old: old.docs_per_cpu_second, new: fresh.docs_per_cpu_second, old_median: old.median, new_median: fresh.median }, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
