/**
 * Memory of the MinHash dedup step on an input ten times its task budget, in child processes:
 * one writes a 320 MB normalized source in 16 parts (generated text, 5 % near copies), another runs
 * the step with a 32 MB budget and the V8 old space capped at budget + 16 MB (the process's own
 * baseline heap is about 14 MB), so holding much more than the budget of live JS data would kill it.
 * The child warms code, JIT and allocator with a run of the step on a 2 MB input, then measures peak
 * RSS (getrusage) over the RSS just before the real run; the check is that this growth stays within
 * the budget plus a fixed 16 MB for native memory the warm-up does not reach (allocator arenas, zstd
 * buffers). Measured: +16.8 to +33.8 MB; three runs each of the code before and after parquet files
 * were written a row group at a time gave +18.0, +19.1, +32.7 and +22.5, +26.8, +33.3, so about 14 MB
 * comes and goes between runs of the same code. With parquet written by hyparquet-writer instead of
 * parquet-wasm: +22.6, +23.3, +25.0 (and an RSS of 107–110 MB before the run, against 133–153). The step's peak RSS as a target
 * is measured in benchmarks/minhash-dedup-step.bench.ts, not here.
 * Eight bands of two rows make the shuffle move ~1M band entries, several times the budget: with the
 * budget ignored (everything buffered in memory) the child runs out of heap.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../support/kiln-cli.ts";

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "dedup-memory-child.ts");
const BUDGET = 32 * 1024 * 1024;
const INPUT_BYTES = 10 * BUDGET;
/** Native memory outside the budget that the warm-up run does not always reach (see above). */
const FIXED_OVERHEAD = 16 * 1024 * 1024;

function runChild(args: string[], nodeFlags: string[] = []): string {
  const out = spawnSync(process.execPath, [...nodeFlags, "--import", "tsx", child, ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (out.status !== 0) throw new Error(`child ${args[0]} exited ${out.status}: ${out.stderr.slice(-3000)}`);
  return out.stdout.trim().split("\n").pop()!;
}

describe("MinHash dedup step memory", () => {
  it("stays within its budget on an input ten times the budget", () => {
    const dir = tempDir();
    const written = JSON.parse(runChild(["write", path.join(dir, "src"), String(INPUT_BYTES), "16"]));
    expect(written.bytes).toBeGreaterThanOrEqual(INPUT_BYTES);
    const heapMb = BUDGET / 2 ** 20 + 16;
    const run = JSON.parse(
      runChild(
        ["dedup", path.join(dir, "src"), String(BUDGET), path.join(dir, "run"), "0", JSON.stringify({ numPerm: 16, bands: 8, rows: 2 })],
        ["--expose-gc", `--max-old-space-size=${heapMb}`, "--max-semi-space-size=1"],
      ),
    );
    expect(run.result.documents).toBe(written.documents);
    expect(run.result.textChars).toBe(written.bytes);
    expect(run.result.bandEntries).toBe(8 * written.documents);
    // About one document in twenty is a near copy of an earlier one.
    expect(run.result.nonCanonical).toBeGreaterThan(written.documents * 0.03);
    expect(run.result.nonCanonical).toBeLessThan(written.documents * 0.08);
    const growth = run.peakRss - run.baselineRss;
    console.log(`dedup of ${(written.bytes / 2 ** 20).toFixed(0)} MB with a ${BUDGET / 2 ** 20} MB budget: peak RSS +${(growth / 2 ** 20).toFixed(1)} MB in ${(run.wallMs / 1000).toFixed(1)} s`);
    expect(growth).toBeLessThanOrEqual(BUDGET + FIXED_OVERHEAD);
  }, 180_000);
});
