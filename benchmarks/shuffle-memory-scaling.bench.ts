/**
 * Peak RSS of the kiln shuffle against input size: the groupBy benchmark's kiln run (one map task per
 * 64 MiB of input, 8 reduce tasks, on a worker thread per core, 512 MB of task budgets; results before
 * 2026-12-05 ran 8 map tasks whatever the size) on inputs of growing size, each
 * in its own child process. The claim it checks is that peak memory follows the budget, not the data:
 * it should level off once map tasks fill their buffers. Sizes from `KILN_BENCH_SIZES` (bytes, comma
 * separated; default 0.25, 0.5, 1, 2 and 4 GB), keys from `KILN_BENCH_CASE` (default groupby:uniform).
 * Writes benchmarks/results/shuffle-memory-scaling.json (or `KILN_BENCH_OUT`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync, execSync } from "node:child_process";
import { buildInput } from "./shuffle-groupby.bench.ts";

const sizes = (process.env.KILN_BENCH_SIZES ?? "250e6,500e6,1e9,2e9,4e9").split(",").map(Number);
const [op, dist] = (process.env.KILN_BENCH_CASE ?? "groupby:uniform").split(":");
const outFile = process.env.KILN_BENCH_OUT ?? "benchmarks/results/shuffle-memory-scaling.json";
const rows = [];
for (const size of sizes) {
  const dir = fs.mkdtempSync(path.join(process.env.KILN_BENCH_TMP ?? os.tmpdir(), "kiln-bench-scaling-"));
  try {
    const input = await buildInput(dir, size);
    const work = fs.mkdtempSync(path.join(dir, "work-"));
    const out = execFileSync(process.execPath, ["--import", "tsx", new URL("./shuffle-groupby.bench.ts", import.meta.url).pathname, "--worker", "kiln", op, dist, input.jsonl, work], {
      encoding: "utf8", maxBuffer: 1 << 20,
    });
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    const row = {
      inputBytes: input.bytes, rows: input.rows, seconds: +r.seconds.toFixed(2), rowsOut: r.rowsIn, spilledBytes: r.spilledBytes,
      runtimeRssMB: Math.round(r.runtimeRssBytes / 2 ** 20), mapPeakRssMB: Math.round(r.mapPeakRssBytes / 2 ** 20), peakRssMB: Math.round(r.peakRssBytes / 2 ** 20),
    };
    console.error(JSON.stringify(row));
    rows.push(row);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const result = {
  benchmark: "shuffle-memory-scaling",
  commit: execSync("git rev-parse HEAD").toString().trim(),
  node: process.version,
  cpus: os.cpus().length,
  case: `${op}:${dist}`,
  settings: { memoryBudget: "512 MiB for the run, split between one worker thread per core", mapTasks: "one per 64 MiB of input (the engine's default split)", partitions: 8 },
  rows,
};
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
