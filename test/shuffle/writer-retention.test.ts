/**
 * The writer buffers each record's key as a JS value until it flushes. A key sliced from a much larger
 * string (what msgpackr's native decoder and String.prototype.slice hand out) must not keep that
 * larger string alive: the writer would hold memory its budget never counted.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { ScatterWriter } from "../../src/shuffle/index.ts";
import { tempDir } from "./helpers.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

describe("ScatterWriter key retention", () => {
  it("keeps buffered keys without the strings they were sliced from", async () => {
    const dir = await tempDir("retention");
    dirs.push(dir);
    const writer = await ScatterWriter.open<{ k: string }>({ outputDir: dir, mapTask: 0, numPartitions: 2, key: (r) => r.k, memoryBudgetBytes: 64 << 20 });
    // In a function of its own, so that no frame of this one still refers to the large string.
    const addSlices = (): void => {
      // 16 MB of characters in one string; 2,000 keys of 24 characters sliced from it.
      const big = "abcdefghijklmnopqrstuvwxyz0123456789".repeat((16 << 20) / 36);
      for (let i = 0; i < 2000; i++) writer.add({ k: big.slice(i * 8000, i * 8000 + 24) });
    };
    gc();
    const before = process.memoryUsage().heapUsed;
    addSlices();
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    expect(retained).toBeLessThan(4 << 20);
    await writer.commit();
  });
});
