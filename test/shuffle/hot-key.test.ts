import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { suiteDir } from "./helpers.ts";

const run = promisify(execFile);
const child = fileURLToPath(new URL("./fixtures/hot-key-child.ts", import.meta.url));
const BUDGET = 16 * 1024 * 1024;
const suite = suiteDir("hot");

interface HotKeyReport {
  rows: number;
  hotRows: number;
  rawBytes: number;
  stats: { rawBytes: number; spilledRuns: number; mergePasses: number };
  leftovers: number;
  baselineRss: number;
  peakRss: number;
}

async function hotKeyRun(count: number): Promise<HotKeyReport> {
  // A 48 MB heap cap (small young generation too): the job fails outright if the reducer holds the partition in memory.
  const { stdout } = await run(process.execPath, ["--max-old-space-size=48", "--max-semi-space-size=2", "--import", "tsx", child, `${suite.path}/n${count}`, String(count), String(BUDGET)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as HotKeyReport;
}

describe("one hot key holding half of all rows", () => {
  it("completes within the budget: peak memory stays flat when the data doubles", async () => {
    const small = await hotKeyRun(100_000);
    const large = await hotKeyRun(200_000);
    for (const [report, count] of [[small, 100_000], [large, 200_000]] as const) {
      expect(report.hotRows).toBe(count / 2);
      expect(report.rows).toBeGreaterThan(count / 2);
      expect(report.stats.spilledRuns).toBeGreaterThanOrEqual(3);
      expect(report.stats.mergePasses).toBeGreaterThanOrEqual(2);
      expect(report.leftovers).toBe(0);
    }
    expect(large.stats.rawBytes).toBeGreaterThan(1.9 * small.stats.rawBytes);
    const smallGrowth = small.peakRss - small.baselineRss;
    const largeGrowth = large.peakRss - large.baselineRss;
    expect(largeGrowth).toBeLessThan(smallGrowth + 24 * 1024 * 1024);
    // Four budgets of growth at most, while the hot partition alone holds more raw bytes than that.
    expect(largeGrowth).toBeLessThan(4 * BUDGET);
    expect(large.stats.rawBytes).toBeGreaterThan(5 * BUDGET);
  });
});
