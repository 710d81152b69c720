/**
 * The parts of the before/after step benchmark that its numbers rest on: the outside measurement
 * of a process (worker-thread CPU and peak RSS are counted, exit codes kept), the noise verdict,
 * finding a checkout's step factories, and the generated pipeline module, run for real by
 * `kiln run` in a throwaway checkout that links this one's sources.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { compare, verdict } from "../../benchmarks/support/before-after-stats.ts";
import { BenchSetupError, openCheckout, STEP_FACTORIES, writePipeline, type FactoryName } from "../../benchmarks/support/checkout-pipeline.ts";
import { MeasuredRunError, runKilnSteps, runNodeMeasured } from "../../benchmarks/support/measured-run.ts";
import { countDocuments, type CorpusInput } from "../../benchmarks/support/steps-inputs.ts";
import { brownDocuments } from "../steps/minhash/corpora.ts";
import { tempDir } from "../support/kiln-cli.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("runNodeMeasured", () => {
  it("counts a worker thread's CPU and memory in the process's figures", async () => {
    const dir = tempDir();
    const script = path.join(dir, "burn.mjs");
    const worker = `
      const start = process.cpuUsage();
      while (process.cpuUsage(start).user < 600000) {}
      const block = Buffer.alloc(320 * 1024 * 1024, 1);
      require("node:worker_threads").parentPort.postMessage(block[12345]);`;
    writeFileSync(script, `import { Worker } from "node:worker_threads";
      const w = new Worker(${JSON.stringify(worker)}, { eval: true });
      w.on("message", (v) => { if (v !== 1) process.exitCode = 5; });`);
    const run = await runNodeMeasured([script], dir);
    expect(run.exitCode).toBe(0);
    expect(run.cpuSeconds).toBeGreaterThanOrEqual(0.6);
    expect(run.cpuSeconds).toBeCloseTo(run.userSeconds + run.systemSeconds, 6);
    expect(run.peakRssMB).toBeGreaterThanOrEqual(320);
    expect(run.wallSeconds).toBeGreaterThan(0);
  });

  it("keeps the exit code and the end of stderr of a failing process", async () => {
    const dir = tempDir();
    const script = path.join(dir, "fail.mjs");
    writeFileSync(script, `console.error("something broke"); process.exitCode = 3;`);
    const run = await runNodeMeasured([script], dir);
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain("something broke");
  });
});

describe("verdict", () => {
  it("calls a change beyond noise only when the ranges do not overlap, with 3 runs a side", () => {
    expect(verdict([10, 11, 12], [12.5, 13, 14])).toBe("after higher beyond noise");
    expect(verdict([10, 11, 12], [7, 8, 9.9])).toBe("after lower beyond noise");
    expect(verdict([10, 11, 12], [9, 11.5, 13])).toBe("within noise");
    expect(verdict([10, 11], [20, 21])).toBe("too few runs to tell");
    const c = compare([10, 20, 10], [11, 22, 12]);
    expect(c.ratioOfMedians).toBeCloseTo(12 / 10, 4);
    expect(c.pairedRatios.runs).toEqual([1.1, 1.1, 1.2]);
    expect(c.pairedRatios.median).toBe(1.1);
  });
});

/** A checkout of its own (so its scratch folder is its own) whose code is this one's. */
function linkedCheckout(): string {
  const dir = tempDir("kiln-bench-checkout-");
  for (const entry of ["bin", "src", "node_modules", "package.json"]) symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
  return dir;
}

describe("openCheckout", () => {
  it("imports each factory from src/index.ts exactly when it exports it", async () => {
    const checkout = openCheckout("after", linkedCheckout());
    const exported = new Set(Object.keys(await import("../../src/index.ts")));
    for (const name of Object.keys(STEP_FACTORIES) as FactoryName[]) {
      expect(checkout.factories[name]).toBe(exported.has(name) ? "src/index.ts" : STEP_FACTORIES[name]);
    }
    expect(openCheckout("before", ROOT).commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it("refuses a folder that is not a runnable kiln checkout, naming what is missing", () => {
    const dir = tempDir();
    expect(() => openCheckout("before", dir)).toThrow(BenchSetupError);
    expect(() => openCheckout("before", dir)).toThrow(/bin\/kiln\.mjs/);
  });
});

describe("the generated pipeline", () => {
  it("runs download and normalize, then only the forced tokenize steps, in a kiln process", async () => {
    const checkout = openCheckout("before", linkedCheckout());
    const data = tempDir();
    const texts = brownDocuments({ minWords: 100 }).slice(0, 120);
    const write = (name: string, lines: string[]) => {
      mkdirSync(path.join(data, name));
      writeFileSync(path.join(data, name, "part-00000.jsonl"), lines.map((text, i) => JSON.stringify({ text, source: name, source_id: String(i) })).join("\n") + "\n");
      return { name, folder: path.join(data, name), files: 1, documents: lines.length, bytes: 0 };
    };
    const corpus: CorpusInput = {
      name: "generated",
      description: "test",
      // Twenty exact copies in "prose": normalize drops them.
      sources: [write("prose", [...texts, ...texts.slice(0, 20)]), write("words", texts.slice(0, 40).map((t) => t.split(" ").reverse().join(" ")))],
      positive: ["prose"],
      negative: ["words"],
    };
    const pipeline = writePipeline(checkout, corpus, 1);
    expect(path.relative(checkout.dir, pipeline)).toBe("scratch/steps-before-after/before-generated.pipeline.ts");
    const prefix = path.join(data, "prefix");

    const upstream = await runKilnSteps(checkout.dir, pipeline, prefix, "download|normalized/.*", { force: false, expectRan: 3 });
    expect(upstream.ran.sort()).toEqual(["download", "normalized/prose", "normalized/words"]);
    expect(await countDocuments(path.join(prefix, "normalized/prose-*/outputs/main/*.parquet"))).toMatchObject({ documents: 120 });

    const tokenize = await runKilnSteps(checkout.dir, pipeline, prefix, "tokenized/.*", { force: true, expectRan: 2 });
    expect(tokenize.ran.sort()).toEqual(["tokenized/prose", "tokenized/words"]);
    expect(tokenize.stepSeconds).toBeGreaterThan(0);
    expect(tokenize.cpuSeconds).toBeGreaterThan(tokenize.stepSeconds / 10);

    // Forced again it runs again; a wrong count of steps is an error, not a silent figure.
    await expect(runKilnSteps(checkout.dir, pipeline, prefix, "tokenized/.*", { force: true, expectRan: 1 })).rejects.toThrow(MeasuredRunError);
    const skipped = await runKilnSteps(checkout.dir, pipeline, prefix, "download", { force: false, expectRan: 0 });
    expect(skipped.ran).toEqual([]);
  }, 180_000);
});
