/**
 * The shuffle reader opens each run's data file once and reads all of the run's frames through that
 * one descriptor: a data file removed after its run started is still read to the end (POSIX keeps
 * an open file's bytes), which a reader opening the file per frame could not do.
 */
import { describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { ShuffleReader } from "../../src/shuffle/index.ts";
import { scatter, suiteDir } from "./helpers.ts";

const suite = suiteDir("reader-files");

describe("shuffle reader files", () => {
  it("reads a whole run through the descriptor it opened, frame after frame", async () => {
    const records = Array.from({ length: 2000 }, (_, i) => ({ id: `doc-${String(i).padStart(5, "0")}`, text: `text of document ${i} `.repeat(8) }));
    const outputs = await scatter([records], { outputDir: suite.path, numPartitions: 1, key: (r) => r.id, maxFrameBytes: 4096 });
    const dataFiles = (await fsp.readdir(suite.path)).filter((f) => f.endsWith(".data"));
    expect(dataFiles).toHaveLength(1);

    const reader = new ShuffleReader<(typeof records)[number]>({ mapOutputs: outputs, partition: 0 });
    const ids: string[] = [];
    for await (const e of reader.entries()) {
      ids.push(e.record.id);
      if (ids.length === 1) await fsp.rm(path.join(suite.path, dataFiles[0]));
    }
    expect(reader.stats.frames).toBeGreaterThan(10);
    expect(ids).toEqual(records.map((r) => r.id));
  });

  it("closes every run's file when the reader is left early or fails", async () => {
    const records = Array.from({ length: 3000 }, (_, i) => ({ id: `doc-${String(i).padStart(5, "0")}`, text: `text ${i} `.repeat(10) }));
    const shards = [records.slice(0, 1000), records.slice(1000, 2000), records.slice(2000)];
    const outputs = await scatter(shards, { outputDir: path.join(suite.path, "early"), numPartitions: 1, key: (r) => r.id, maxFrameBytes: 4096 });
    const openFiles = async () => (await fsp.readdir("/proc/self/fd")).length;
    const before = await openFiles();
    let seen = 0;
    for await (const _ of new ShuffleReader<(typeof records)[number]>({ mapOutputs: outputs, partition: 0 }).entries()) {
      void _;
      if (++seen === 10) break;
    }
    expect(await openFiles()).toBe(before);

    const data = (await fsp.readdir(path.join(suite.path, "early"), { recursive: true })).filter((f) => f.endsWith(".data"));
    expect(data).toHaveLength(3);
    const victim = path.join(suite.path, "early", data[1]);
    const bytes = await fsp.readFile(victim);
    await fsp.writeFile(victim, bytes.subarray(0, 100)); // its frames now run past the end of the file
    await expect(
      (async () => {
        for await (const _ of new ShuffleReader<(typeof records)[number]>({ mapOutputs: outputs, partition: 0 }).entries()) void _;
      })(),
    ).rejects.toThrow(/truncated frame/);
    expect(await openFiles()).toBe(before);
  });
});
