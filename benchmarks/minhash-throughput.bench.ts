/**
 * MinHash throughput on real text, one core: shingling alone, signatures with Marin's 286 and
 * datatrove's 112 permutations, and band keys, in documents/s and MB/s — plus two peers on the
 * same shingle hashes: a numpy implementation of the same (a·x + b) mod p permutations (the
 * vectorised approach datatrove takes; its signatures must equal ours bit for bit) and a naive
 * BigInt loop in JS (why the hot loop avoids BigInt). Input: Brown corpus documents (≥ 200 words),
 * cycled up to KILN_BENCH_BYTES (default: the corpus once, ~6 MB). Medians of KILN_BENCH_RUNS (3).
 * Run: node --import tsx benchmarks/minhash-throughput.bench.ts   (writes
 * benchmarks/results/minhash-throughput.json)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DATATROVE_PARAMS, MARIN_PARAMS, MERSENNE_PRIME, MinHasher, Shingler, bandKeys } from "../src/steps/minhash/index.ts";
import { brownDocuments } from "../test/steps/minhash/corpora.ts";
import { median, timeRuns, wallLog } from "./support/cpu-timing.ts";


function loadInput(targetBytes: number): { docs: string[]; bytes: number } {
  const base = brownDocuments({ minWords: 200 });
  const docs: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < targetBytes; i++) {
    const doc = base[i % base.length];
    docs.push(doc);
    bytes += Buffer.byteLength(doc);
    if (i >= base.length - 1 && targetBytes === Infinity) break;
  }
  // Strings as real data arrives (flat, from JSON.parse), not built by concatenation.
  return { docs: JSON.parse(JSON.stringify(docs)) as string[], bytes };
}


function numpyPeer(dir: string, shingleSets: Uint32Array[], hasher: MinHasher, runs: number): { ms: number[]; equal: boolean } | { error: string } {
  const offsets = new BigUint64Array(shingleSets.length + 1);
  let total = 0;
  shingleSets.forEach((s, i) => {
    offsets[i] = BigInt(total);
    total += s.length;
  });
  offsets[shingleSets.length] = BigInt(total);
  const flat = new Uint32Array(total);
  let at = 0;
  for (const s of shingleSets) {
    flat.set(s, at);
    at += s.length;
  }
  const numPerm = hasher.params.numPerm;
  const coefficients = new Uint32Array(numPerm * 2);
  for (let i = 0; i < numPerm; i++) {
    const { a, b } = hasher.coefficients(i);
    coefficients[2 * i] = a;
    coefficients[2 * i + 1] = b;
  }
  writeFileSync(path.join(dir, "shingles.u32"), flat);
  writeFileSync(path.join(dir, "offsets.u64"), offsets);
  writeFileSync(path.join(dir, "coefficients.u32"), coefficients);
  const script = `
import numpy as np, sys, time, json
d = sys.argv[1]; runs = int(sys.argv[2]); p = np.uint64(${MERSENNE_PRIME})
x = np.fromfile(d + "/shingles.u32", dtype=np.uint32).astype(np.uint64)
off = np.fromfile(d + "/offsets.u64", dtype=np.uint64).astype(np.int64)
c = np.fromfile(d + "/coefficients.u32", dtype=np.uint32).astype(np.uint64).reshape(-1, 2)
a = c[:, 0][None, :]; b = c[:, 1][None, :]
times = []
for _ in range(runs):
    t = time.process_time()
    out = np.empty((len(off) - 1, c.shape[0]), dtype=np.uint32)
    for i in range(len(off) - 1):
        s = x[off[i]:off[i + 1]][:, None]
        out[i] = ((s * a + b) % p).min(axis=0)
    times.append((time.process_time() - t) * 1000)
out.tofile(d + "/numpy-signatures.u32")
print(json.dumps(times))
`;
  try {
    const output = execFileSync("python3", ["-c", script, dir, String(runs)], { encoding: "utf8", maxBuffer: 1 << 26 });
    const ms = JSON.parse(output.trim().split("\n").pop()!) as number[];
    const theirs = new Uint32Array(readFileSync(path.join(dir, "numpy-signatures.u32")).buffer.slice(0));
    let equal = theirs.length === shingleSets.length * numPerm;
    for (let i = 0; equal && i < shingleSets.length; i++) {
      const ours = hasher.signatureOfShingles(shingleSets[i]);
      for (let j = 0; j < numPerm; j++) if (ours[j] !== theirs[i * numPerm + j]) equal = false;
    }
    return { ms, equal };
  } catch (error) {
    return { error: String(error).slice(0, 300) };
  }
}

function bigIntSignature(shingles: Uint32Array, coefficients: { a: bigint; b: bigint }[]): Uint32Array {
  const out = new Uint32Array(coefficients.length);
  const p = BigInt(MERSENNE_PRIME);
  coefficients.forEach(({ a, b }, i) => {
    let min = p;
    for (const x of shingles) {
      const v = (a * BigInt(x) + b) % p;
      if (v < min) min = v;
    }
    out[i] = Number(min);
  });
  return out;
}

function main(): void {
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const targetBytes = process.env.KILN_BENCH_BYTES ? Number(process.env.KILN_BENCH_BYTES) : Infinity;
  const { docs, bytes } = loadInput(targetBytes);
  const mb = bytes / 1e6;
  const shingler = new Shingler(5);
  const shingleMs = timeRuns(runs, () => {
    for (const doc of docs) shingler.shingleHashes(doc);
  }, "shingling");
  const results: Record<string, unknown> = {};
  for (const [name, params] of [
    ["marin_286", MARIN_PARAMS],
    ["datatrove_112", DATATROVE_PARAMS],
  ] as const) {
    const hasher = new MinHasher(params);
    const buffer = new Uint32Array(params.numPerm);
    const signatureMs = timeRuns(runs, () => {
      for (const doc of docs) hasher.signature(doc, buffer);
    }, `${name}_signatures`);
    const signatures = docs.map((doc) => hasher.signature(doc));
    const bandMs = timeRuns(runs, () => {
      for (const signature of signatures) bandKeys(signature, params.bands, params.rows);
    }, `${name}_band_keys`);
    const signatureMedian = median(signatureMs);
    const bandMedian = median(bandMs);
    results[name] = {
      signatures_cpu_ms_median: Math.round(signatureMedian),
      band_keys_cpu_ms_median: Math.round(bandMedian),
      signatures_plus_band_keys_docs_per_s: Math.round(docs.length / ((signatureMedian + bandMedian) / 1000)),
      signatures_plus_band_keys_mb_per_s: +(mb / ((signatureMedian + bandMedian) / 1000)).toFixed(2),
      all_cpu_ms: { signatures: signatureMs.map(Math.round), band_keys: bandMs.map(Math.round) },
    };
  }

  // Peers on the same shingle sets (a sample, so the slow ones finish quickly).
  const peerDocs = docs.slice(0, 1000);
  const hasher = new MinHasher(MARIN_PARAMS);
  const shingleSets = peerDocs.map((doc) => hasher.shingleHashes(doc));
  const oursMs = median(timeRuns(runs, () => {
    for (const s of shingleSets) hasher.signatureOfShingles(s);
  }, "peer_kiln"));
  const dir = mkdtempSync(path.join(tmpdir(), "kiln-minhash-bench-"));
  let numpy: ReturnType<typeof numpyPeer>;
  try {
    numpy = numpyPeer(dir, shingleSets, hasher, runs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bigCoefficients = Array.from({ length: MARIN_PARAMS.numPerm }, (_, i) => {
    const { a, b } = hasher.coefficients(i);
    return { a: BigInt(a), b: BigInt(b) };
  });
  const bigIntDocs = shingleSets.slice(0, 100);
  const bigIntMs = median(timeRuns(1, () => {
    for (const s of bigIntDocs) bigIntSignature(s, bigCoefficients);
  }, "peer_bigint"));
  const bigIntEqual = bigIntDocs.every((s) => bigIntSignature(s, bigCoefficients).every((v, j) => v === hasher.signatureOfShingles(s)[j]));
  const oursPerDoc = oursMs / peerDocs.length;
  const numpyPerDoc = "ms" in numpy ? median(numpy.ms) / peerDocs.length : undefined;
  const bigIntPerDoc = bigIntMs / bigIntDocs.length;

  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
  } catch {}
  const result = {
    benchmark: "minhash-throughput",
    commit,
    date: new Date().toISOString(),
    machine: "2 cores shared by several concurrent jobs (noisy, load average ~10 while measuring)",
    timing: "medians of CPU time (user+system) of the single benchmark thread, so rates are per core; numpy peer timed with time.process_time(); wall times under wall_ms",
    node: process.version,
    runs,
    input: { corpus: "Brown (≥200-word documents)", documents: docs.length, bytes, mean_doc_bytes: Math.round(bytes / docs.length) },
    shingling_5gram_cpu_ms_median: Math.round(median(shingleMs)),
    shingling_docs_per_s: Math.round(docs.length / (median(shingleMs) / 1000)),
    ...results,
    peers_on_1000_docs_marin_286_permutation_step_only: {
      kiln_ms_per_doc: +oursPerDoc.toFixed(4),
      numpy_ms_per_doc: numpyPerDoc === undefined ? null : +numpyPerDoc.toFixed(4),
      numpy_signatures_identical: "equal" in numpy ? numpy.equal : null,
      numpy_error: "error" in numpy ? numpy.error : undefined,
      numpy_over_kiln_time_ratio: numpyPerDoc === undefined ? null : +(numpyPerDoc / oursPerDoc).toFixed(2),
      bigint_js_ms_per_doc: +bigIntPerDoc.toFixed(3),
      bigint_signatures_identical: bigIntEqual,
      bigint_over_kiln_time_ratio: +(bigIntPerDoc / oursPerDoc).toFixed(1),
    },
    wall_ms: wallLog,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  mkdirSync(path.join(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(path.join(import.meta.dirname, "results", "minhash-throughput.json"), JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
}

main();
