/**
 * The built-in data steps of two kiln checkouts side by side, in one run on the same inputs:
 * normalize (exact dedup), MinHash dedup, quality and tokenize (gpt2), each measured in its own
 * `kiln run` process (CPU user + system of every thread, peak RSS, wall time), runs alternating
 * before, after, before, after… so that the machine's drift hits both. Inputs are built once under
 * benchmarks/data/steps-before-after/inputs (support/steps-inputs.ts): the quickstart corpus (the
 * embedded sources) and a generated corpus of --bytes of JSONL. Each checkout gets a generated
 * pipeline module of its own (support/checkout-pipeline.ts) and a fresh prefix; download and
 * normalize run once unmeasured, then every measured run forces only its step(s). "startup" is a
 * run that loads the pipeline and skips everything: the process cost included in every other row.
 *
 * Run: node --import tsx benchmarks/steps-before-after.bench.ts --before <checkout> --after <checkout>
 *        [--bytes 5e8] [--runs 3] [--only normalize,minhash,quality,tokenize] [--corpora quickstart,generated]
 *        [--threads N (default: every core)] [--keep (leave the run prefixes)] [--out file.json]
 * Writes benchmarks/results/steps-before-after.json (or --out) and prints a table.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { formatTable } from "../src/cli/table.ts";
import { describeError } from "../src/errors.ts";
import { compare, spread, VERDICT_RULE, type Comparison, type Spread } from "./support/before-after-stats.ts";
import { BenchSetupError, isStepKind, openCheckout, STEP_KINDS, STEP_PATTERNS, writePipeline, type Checkout, type Role, type StepKind } from "./support/checkout-pipeline.ts";
import { runKilnSteps, type KilnStepsRun } from "./support/measured-run.ts";
import { buildCorpora, CORPORA, countDocuments, type CorpusInput, type CorpusName } from "./support/steps-inputs.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const DATA = path.join(ROOT, "benchmarks/data/steps-before-after");
const ROLES: Role[] = ["before", "after"];
type Measured = StepKind | "startup";

interface Options {
  checkouts: Record<Role, string>;
  bytes: number;
  runs: number;
  only: StepKind[];
  corpora: CorpusName[];
  threads: number;
  keep: boolean;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      before: { type: "string" },
      after: { type: "string" },
      bytes: { type: "string", default: "5e8" },
      runs: { type: "string", default: "3" },
      only: { type: "string", default: STEP_KINDS.join(",") },
      corpora: { type: "string", default: CORPORA.join(",") },
      threads: { type: "string", default: String(os.availableParallelism()) },
      keep: { type: "boolean", default: false },
      out: { type: "string", default: path.join(ROOT, "benchmarks/results/steps-before-after.json") },
    },
  });
  if (!values.before || !values.after) throw new BenchSetupError("--before and --after are required", "pass two kiln checkout folders (the same one twice to check the benchmark itself)");
  const only = values.only.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = only.filter((s) => !isStepKind(s));
  if (unknown.length || only.length === 0) throw new BenchSetupError(`--only ${values.only}: unknown step ${unknown.join(", ") || "(none given)"}`, `choose from ${STEP_KINDS.join(",")}`);
  const corpora = CORPORA.filter((c) => values.corpora.split(",").map((s) => s.trim()).includes(c));
  if (corpora.length === 0) throw new BenchSetupError(`--corpora ${values.corpora} names no corpus`, `choose from ${CORPORA.join(",")}`);
  const number = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new BenchSetupError(`--${name} ${text} is not a number ≥ ${min}`, `e.g. --${name} ${min}`);
    return n;
  };
  return {
    checkouts: { before: values.before, after: values.after },
    bytes: number("bytes", values.bytes, 1e6),
    runs: Math.round(number("runs", values.runs, 1)),
    only: STEP_KINDS.filter((s) => only.includes(s)),
    corpora,
    threads: Math.round(number("threads", values.threads, 0)),
    keep: values.keep,
    out: path.resolve(values.out),
  };
}

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

interface DocsAndBytes {
  documents: number;
  bytes: number;
}

/** One checkout set up for one corpus: its pipeline, a fresh prefix with download and normalize done, and the normalized documents. */
interface Prepared {
  checkout: Checkout;
  pipeline: string;
  prefix: string;
  normalized: DocsAndBytes;
}

async function prepare(checkout: Checkout, corpus: CorpusInput, options: Options): Promise<Prepared> {
  const pipeline = writePipeline(checkout, corpus, options.threads);
  const prefix = path.join(DATA, "runs", checkout.role, corpus.name);
  rmSync(prefix, { recursive: true, force: true });
  const upstream = await runKilnSteps(checkout.dir, pipeline, prefix, `download|${STEP_PATTERNS.normalize}`, { force: false, expectRan: 1 + corpus.sources.length });
  const normalized = { documents: 0, bytes: 0 };
  for (const s of corpus.sources) {
    const counted = await countDocuments(path.join(prefix, `normalized/${s.name}-*/outputs/main/*.parquet`));
    normalized.documents += counted.documents;
    normalized.bytes += counted.bytes;
  }
  log(`${checkout.role} ${corpus.name}: download + normalize ${upstream.wallSeconds.toFixed(1)} s; normalized ${normalized.documents} documents, ${(normalized.bytes / 1e6).toFixed(1)} MB of text`);
  return { checkout, pipeline, prefix, normalized };
}

function runStep(prepared: Prepared, kind: Measured, corpus: CorpusInput): Promise<KilnStepsRun> {
  const perSource = corpus.sources.length;
  if (kind === "startup") return runKilnSteps(prepared.checkout.dir, prepared.pipeline, prepared.prefix, "download", { force: false, expectRan: 0 });
  const expectRan = kind === "normalize" || kind === "tokenize" ? perSource : 1;
  return runKilnSteps(prepared.checkout.dir, prepared.pipeline, prepared.prefix, STEP_PATTERNS[kind], { force: true, expectRan });
}

interface SideSummary {
  wallSeconds: Spread;
  stepSeconds: Spread;
  cpuSeconds: Spread;
  peakRssMB: Spread;
  docsPerCpuSecond: Spread | null;
  mbPerCpuSecond: Spread | null;
}

interface StepReport {
  step: Measured;
  steps: string[];
  input: { before: DocsAndBytes; after: DocsAndBytes; same: boolean; bytesCounted: string } | null;
  before: SideSummary;
  after: SideSummary;
  ratios: Record<"wallSeconds" | "stepSeconds" | "cpuSeconds" | "peakRssMB", Comparison> & { docsPerCpuSecond: Comparison | null };
  /** Documents per CPU-second lower, or peak RSS higher, beyond noise. */
  regression: boolean;
}

function summarizeSide(runs: KilnStepsRun[], input: DocsAndBytes | null): SideSummary {
  const cpu = runs.map((r) => r.cpuSeconds);
  return {
    wallSeconds: spread(runs.map((r) => r.wallSeconds)),
    stepSeconds: spread(runs.map((r) => r.stepSeconds)),
    cpuSeconds: spread(cpu),
    peakRssMB: spread(runs.map((r) => r.peakRssMB)),
    docsPerCpuSecond: input ? spread(cpu.map((c) => input.documents / c)) : null,
    mbPerCpuSecond: input ? spread(cpu.map((c) => input.bytes / 1e6 / c)) : null,
  };
}

function stepInput(kind: Measured, corpus: CorpusInput, prepared: Record<Role, Prepared>): StepReport["input"] {
  if (kind === "startup") return null;
  if (kind === "normalize") {
    const raw = { documents: corpus.sources.reduce((s, x) => s + x.documents, 0), bytes: corpus.sources.reduce((s, x) => s + x.bytes, 0) };
    return { before: raw, after: raw, same: true, bytesCounted: "JSONL bytes of the input files" };
  }
  const [before, after] = [prepared.before.normalized, prepared.after.normalized];
  return { before, after, same: before.documents === after.documents && before.bytes === after.bytes, bytesCounted: "UTF-8 text bytes of the normalized documents" };
}

function report(kind: Measured, corpus: CorpusInput, prepared: Record<Role, Prepared>, samples: Record<Role, KilnStepsRun[]>): StepReport {
  const input = stepInput(kind, corpus, prepared);
  const metric = (m: "wallSeconds" | "stepSeconds" | "cpuSeconds" | "peakRssMB") => compare(samples.before.map((r) => r[m]), samples.after.map((r) => r[m]));
  const throughput = (docs: DocsAndBytes, runs: KilnStepsRun[]) => runs.map((r) => docs.documents / r.cpuSeconds);
  const ratios = {
    wallSeconds: metric("wallSeconds"),
    stepSeconds: metric("stepSeconds"),
    cpuSeconds: metric("cpuSeconds"),
    peakRssMB: metric("peakRssMB"),
    docsPerCpuSecond: input ? compare(throughput(input.before, samples.before), throughput(input.after, samples.after)) : null,
  };
  return {
    step: kind,
    steps: samples.before[0].ran,
    input,
    before: summarizeSide(samples.before, input?.before ?? null),
    after: summarizeSide(samples.after, input?.after ?? null),
    ratios,
    regression: ratios.docsPerCpuSecond?.verdict === "after lower beyond noise" || ratios.peakRssMB.verdict === "after higher beyond noise",
  };
}

async function benchCorpus(corpus: CorpusInput, checkouts: Record<Role, Checkout>, options: Options): Promise<StepReport[]> {
  const prepared = { before: await prepare(checkouts.before, corpus, options), after: await prepare(checkouts.after, corpus, options) };
  const reports: StepReport[] = [];
  const kinds: Measured[] = ["startup", ...options.only];
  for (const kind of kinds) {
    const samples: Record<Role, KilnStepsRun[]> = { before: [], after: [] };
    for (let r = 0; r < options.runs; r++) {
      for (const role of ROLES) {
        const run = await runStep(prepared[role], kind, corpus);
        samples[role].push(run);
        log(`${corpus.name} ${kind} run ${r + 1}/${options.runs} ${role}: cpu ${run.cpuSeconds.toFixed(2)} s, wall ${run.wallSeconds.toFixed(2)} s (steps ${run.stepSeconds.toFixed(2)} s), peak RSS ${run.peakRssMB.toFixed(0)} MB`);
      }
    }
    reports.push(report(kind, corpus, prepared, samples));
  }
  if (!options.keep) for (const role of ROLES) rmSync(prepared[role].prefix, { recursive: true, force: true });
  return reports;
}

const fixed = (x: number | undefined, digits: number) => (x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits));

function table(corpus: string, reports: StepReport[]): string {
  const header = ["step", "docs in", "MB in", "CPU s before", "after", "ratio", "docs/CPU-s before", "after", "MB/CPU-s before", "after", "RSS MB before", "after", "ratio", "wall s before", "after", "verdict (docs/CPU-s; RSS)"];
  const rows = reports.map((r) => [
    r.step,
    r.input ? String(r.input.before.documents) + (r.input.same ? "" : ` / ${r.input.after.documents}`) : "-",
    r.input ? fixed(r.input.before.bytes / 1e6, 1) : "-",
    fixed(r.before.cpuSeconds.median, 2),
    fixed(r.after.cpuSeconds.median, 2),
    fixed(r.ratios.cpuSeconds.ratioOfMedians, 3),
    fixed(r.before.docsPerCpuSecond?.median, 0),
    fixed(r.after.docsPerCpuSecond?.median, 0),
    fixed(r.before.mbPerCpuSecond?.median, 2),
    fixed(r.after.mbPerCpuSecond?.median, 2),
    fixed(r.before.peakRssMB.median, 0),
    fixed(r.after.peakRssMB.median, 0),
    fixed(r.ratios.peakRssMB.ratioOfMedians, 3),
    fixed(r.before.wallSeconds.median, 2),
    fixed(r.after.wallSeconds.median, 2),
    `${r.ratios.docsPerCpuSecond?.verdict ?? "-"}; ${r.ratios.peakRssMB.verdict}`,
  ]);
  return `\n${corpus}\n${formatTable(header, rows)}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const loadavgAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
  const checkouts = { before: openCheckout("before", options.checkouts.before), after: openCheckout("after", options.checkouts.after) };
  for (const c of ROLES.map((r) => checkouts[r])) log(`${c.role}: ${c.dir} at ${c.commit}${c.dirty ? " (uncommitted changes)" : ""}; factories from ${[...new Set(Object.values(c.factories))].join(", ")}`);
  const corpora = await buildCorpora(path.join(DATA, "inputs"), options.corpora, options.bytes);
  for (const c of corpora) log(`input ${c.name}: ${c.sources.map((s) => `${s.name} ${s.documents} docs ${(s.bytes / 1e6).toFixed(1)} MB`).join(", ")}`);
  const results = [];
  for (const corpus of corpora) {
    const steps = await benchCorpus(corpus, checkouts, options);
    results.push({ corpus: corpus.name, description: corpus.description, sources: corpus.sources.map(({ folder: _folder, ...s }) => s), positive: corpus.positive, negative: corpus.negative, steps });
    console.log(table(corpus.name, steps));
  }
  const out = {
    benchmark: "steps-before-after",
    description:
      "built-in data steps of two checkouts on the same inputs: each step (all its per-source steps one at a time) in its own `kiln run --only --force` process; " +
      "CPU = user + system of the whole process (worker threads included, start-up included: see the startup row), peak RSS = the process's maxRSS, " +
      "wall = spawn to exit, stepSeconds = the steps' own durations from info.json; runs alternate before, after; figures are medians with min and max",
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGB: Number((os.totalmem() / 2 ** 30).toFixed(1)), node: process.version, platform: `${os.platform()} ${os.arch()}`, loadavgAtStart, loadavgAtEnd: os.loadavg().map((x) => Number(x.toFixed(2))) },
    options: { bytes: options.bytes, runs: options.runs, only: options.only, corpora: options.corpora, threads: options.threads },
    checkouts: ROLES.map((r) => checkouts[r]),
    verdictRule: VERDICT_RULE,
    regressions: results.flatMap((c) => c.steps.filter((s) => s.regression).map((s) => `${c.corpus}/${s.step}`)),
    totalSeconds: Math.round((performance.now() - started) / 1000),
    corpora: results,
  };
  mkdirSync(path.dirname(options.out), { recursive: true });
  writeFileSync(options.out, JSON.stringify(out, null, 2) + "\n");
  log(`wrote ${options.out} (${out.totalSeconds} s); regressions beyond noise: ${out.regressions.length ? out.regressions.join(", ") : "none"}`);
}

main().catch((err) => {
  console.error(`steps-before-after: ${describeError(err)}`);
  process.exit(1);
});
