/**
 * The normalize step with exact dedup against DuckDB doing the equivalent work (md5 of the text,
 * DISTINCT ON it keeping the first by (source, source_id), COPY TO parquet with zstd), on the same
 * input in the same run. The input is the embedded corpora's text (Brown, SpamAssassin ham and
 * spam, nlp-corpus, JS/TS code), normalized once up front so that both engines see the same
 * documents, then repeated with small seeded edits (one word replaced) and a share of exact copies
 * until KILN_BENCH_BYTES of JSONL (default 150 MB; 1e9 for the full-size run), written as ~20 MB
 * jsonl.zst files by a kiln step under benchmarks/data/ (reused on later runs). Each measurement
 * runs in a child process with 2 threads, so its peak RSS is its own. Medians of KILN_BENCH_RUNS
 * runs (default 3), MB/s of uncompressed JSONL per core, peak RSS and the kiln/DuckDB ratio go to
 * benchmarks/results/normalize-dedup.json. The distinct-document counts of both engines must agree.
 * Run: node --import tsx benchmarks/normalize-dedup.bench.ts
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { currentCommit } from "./support/commit.ts";
import { median } from "./support/cpu-timing.ts";

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(THIS_FILE), "..");
const THREADS = 2;

interface InputInfo {
  files: number;
  rows: number;
  jsonlBytes: number;
  compressedBytes: number;
  exactCopies: number;
}

interface RunResult {
  seconds: number;
  /** User + system CPU of the whole child (every thread) over the measured job. */
  cpuSeconds: number;
  documents: number;
  maxRssMB: number;
}

/** The kiln step that writes the benchmark input (cached by its SUCCESS marker). */
async function inputStep(targetBytes: number) {
  const { step, versioned } = await import("../src/index.ts");
  const { readEmbeddedSource, BUILTIN_SOURCES } = await import("../src/steps/sources/index.ts");
  const { normalizeText } = await import("../src/steps/text/index.ts");
  const { openWriter } = await import("../src/io/formats.ts");
  return step({
    name: "bench/normalize-input",
    config: { bytes: versioned(targetBytes), format: versioned(2) },
    run: async (ctx): Promise<InputInfo> => {
      const base: { text: string; source: string; source_id: string }[] = [];
      for (const spec of BUILTIN_SOURCES) {
        for await (const r of readEmbeddedSource(spec)) {
          const text = normalizeText(r.text);
          if (text) base.push({ text, source: r.source, source_id: r.source_id });
        }
      }
      const words = base.slice(0, 2000).flatMap((d) => d.text.split(" ")).filter((w) => /^[a-z]{3,}$/.test(w));
      let seed = 987654321;
      const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const files = Math.max(4, Math.ceil(targetBytes / 20e6));
      const perFile = targetBytes / files;
      let rows = 0;
      let jsonlBytes = 0;
      let exactCopies = 0;
      let i = 0;
      for (let f = 0; f < files; f++) {
        const writer = openWriter(ctx.path(`data/part-${String(f).padStart(5, "0")}.jsonl.zst`), "jsonl.zst");
        let bytes = 0;
        while (bytes < perFile) {
          const batch: string[] = [];
          for (let k = 0; k < 1000; k++, i++) {
            const doc = base[i % base.length];
            const pass = Math.floor(i / base.length);
            let text = doc.text;
            if (pass > 0 && rand() >= 0.3) {
              const parts = text.split(" ");
              parts[Math.floor(rand() * parts.length)] = words[Math.floor(rand() * words.length)] + pass;
              text = parts.join(" ");
            } else if (pass > 0) {
              exactCopies++;
            }
            const line = JSON.stringify({ text, source: doc.source, source_id: `${pass}:${doc.source_id}` });
            batch.push(line);
            bytes += Buffer.byteLength(line) + 1;
            rows++;
          }
          await writer.write(JSON.parse(`[${batch.join(",")}]`));
        }
        await writer.close();
        jsonlBytes += bytes;
      }
      const dir = ctx.path("data");
      const compressedBytes = readdirSync(dir).reduce((s, n) => s + statSync(path.join(dir, n)).size, 0);
      return { files, rows, jsonlBytes, compressedBytes, exactCopies };
    },
  });
}

/** One measurement, inside a child process. */
async function child(engine: string, prefix: string, targetBytes: number, out: string): Promise<void> {
  const { buildGraph, runGraph } = await import("../src/index.ts");
  const input = await inputStep(targetBytes);
  const info = await runGraph(buildGraph([input]), { prefix, log: () => undefined });
  const dataDir = path.join(info.outcomes[0].outputPath, "data");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let documents = 0;
  if (engine === "kiln") {
    const { normalizeStep } = await import("../src/steps/normalize/index.ts");
    // The files themselves, as DuckDB reads them: naming the input step would put that step in the
    // graph, and under this run's prefix it is not cached, so it would be rebuilt inside the measurement.
    const norm = normalizeStep({ name: "bench/normalized", input: path.join(dataDir, "*.jsonl.zst"), dedup: "exact", threads: THREADS });
    const summary = await runGraph(buildGraph([norm]), { prefix: out, log: () => undefined });
    if (!summary.ok) throw summary.failed[0].error;
    documents = (summary.outcomes.find((o) => o.node.name === "bench/normalized")!.result as { documents: number }).documents;
  } else {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:", { threads: String(THREADS) });
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT DISTINCT ON (md5(text)) md5(text) AS id, text, source, source_id
             FROM read_json('${path.join(dataDir, "*.jsonl.zst")}', format = 'newline_delimited', compression = 'zstd',
                            columns = {text: 'VARCHAR', source: 'VARCHAR', source_id: 'VARCHAR'})
             ORDER BY md5(text), source, source_id)
       TO '${path.join(out, "out.parquet")}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet('${path.join(out, "out.parquet")}')`);
    documents = Number(reader.getRows()[0][0]);
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds, documents, maxRssMB: process.resourceUsage().maxRSS / 1024 } satisfies RunResult) + "\n");
}

async function main(): Promise<void> {
  const targetBytes = Number(process.env.KILN_BENCH_BYTES ?? 150e6);
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 3);
  const prefix = path.join(ROOT, "benchmarks/data/normalize-dedup");
  const out = path.join(os.tmpdir(), `kiln-normalize-bench-out-${process.pid}`);
  const t0 = performance.now();
  const { buildGraph, runGraph } = await import("../src/index.ts");
  const built = await runGraph(buildGraph([await inputStep(targetBytes)]), { prefix, log: () => undefined });
  if (!built.ok) throw built.failed[0].error;
  const info = built.outcomes[0].result as InputInfo;
  console.log(`input: ${info.files} files, ${info.rows} rows (${info.exactCopies} exact copies), ${(info.jsonlBytes / 1e6).toFixed(0)} MB JSONL, ${(info.compressedBytes / 1e6).toFixed(0)} MB zstd (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const engines = ["kiln", "duckdb"];
  const samples = new Map<string, RunResult[]>();
  for (let r = 0; r < runs; r++) {
    for (const engine of engines) {
      const stdout = execFileSync(process.execPath, ["--import", "tsx", THIS_FILE, "--child", engine, prefix, String(targetBytes), out], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
      const res = JSON.parse(stdout.trim().split("\n").pop()!) as RunResult;
      samples.set(engine, [...(samples.get(engine) ?? []), res]);
      console.log(`run ${r + 1}/${runs} ${engine}: ${res.seconds.toFixed(2)} s, ${res.cpuSeconds.toFixed(1)} CPU-s, ${(info.jsonlBytes / 1e6 / res.cpuSeconds).toFixed(1)} MB per CPU-s, ${res.documents} documents, peak RSS ${res.maxRssMB.toFixed(0)} MB`);
    }
  }
  rmSync(out, { recursive: true, force: true });
  const results = engines.map((engine) => {
    const list = samples.get(engine)!;
    const seconds = median(list.map((x) => x.seconds));
    const cpuSeconds = median(list.map((x) => x.cpuSeconds));
    const mbPerSec = info.jsonlBytes / 1e6 / seconds;
    return {
      engine,
      threads: THREADS,
      runsSeconds: list.map((x) => +x.seconds.toFixed(3)),
      medianSeconds: +seconds.toFixed(3),
      mbPerSec: +mbPerSec.toFixed(1),
      mbPerSecPerCore: +(mbPerSec / THREADS).toFixed(1),
      runsCpuSeconds: list.map((x) => +x.cpuSeconds.toFixed(2)),
      medianCpuSeconds: +cpuSeconds.toFixed(2),
      mbPerCpuSecond: +(info.jsonlBytes / 1e6 / cpuSeconds).toFixed(1),
      peakRssMB: Math.round(Math.max(...list.map((x) => x.maxRssMB))),
      distinctDocuments: list[0].documents,
    };
  });
  const [kiln, duck] = results;
  if (kiln.distinctDocuments !== duck.distinctDocuments) {
    console.error(`distinct documents differ: kiln ${kiln.distinctDocuments}, DuckDB ${duck.distinctDocuments}`);
  }
  const report = {
    benchmark: "normalize-dedup",
    description:
      "normalize step (UTF-8 decode with counting, NFC, whitespace caps, xxh3-128 id, shuffle by id, merge-sorted parquet parts, duplicates to outputs/dups) " +
      "vs DuckDB read_json + DISTINCT ON (md5(text)) ORDER BY md5, source, source_id + COPY TO parquet (zstd); 2 threads each",
    commit: currentCommit(),
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    loadAverageAtEnd: os.loadavg().map((x) => +x.toFixed(2)),
    note: "CPU-s = user + system of the measuring child, every thread, from the job's start to its end (the input is built before); shared machine: other processes were running during the measurement, so absolute numbers are noisy; compare the ratio taken in the same run. kiln also writes the duplicates (outputs/dups) and counts normalization changes; DuckDB writes only the distinct documents",
    input: { source: "embedded corpora text, normalized, repeated with one seeded word edit per copy (30% of copies exact)", ...info, runs },
    results,
    countsAgree: kiln.distinctDocuments === duck.distinctDocuments,
    ratios: {
      kilnVsDuckdb: +(kiln.mbPerSec / duck.mbPerSec).toFixed(3),
      kilnVsDuckdbPerCpuSecond: +(kiln.mbPerCpuSecond / duck.mbPerCpuSecond).toFixed(3),
      peakRssKilnVsDuckdb: +(kiln.peakRssMB / duck.peakRssMB).toFixed(3),
    },
  };
  mkdirSync(path.join(ROOT, "benchmarks/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "benchmarks/results/normalize-dedup.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(JSON.stringify(report.results, null, 2), report.ratios, `counts agree: ${report.countsAgree}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  const [flag, engine, prefix, bytes, out] = process.argv.slice(2);
  const run = flag === "--child" ? child(engine, prefix, Number(bytes), out) : main();
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
