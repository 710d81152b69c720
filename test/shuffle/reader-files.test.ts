/**
 * The shuffle reader opens each run's data file once and reads all of the run's frames through that
 * one descriptor: a data file removed after its run started is still read to the end (POSIX keeps
 * an open file's bytes), which a reader opening the file per frame could not do.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { ShuffleReader } from "../../src/shuffle/index.ts";
import { scatter, tempDir } from "./helpers.ts";

let root: string;

beforeAll(async () => {
  root = await tempDir("reader-files");
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe("shuffle reader files", () => {
  it("reads a whole run through the descriptor it opened, frame after frame", async () => {
    const records = Array.from({ length: 2000 }, (_, i) => ({ id: `doc-${String(i).padStart(5, "0")}`, text: `text of document ${i} `.repeat(8) }));
    const outputs = await scatter([records], { outputDir: root, numPartitions: 1, key: (r) => r.id, maxFrameBytes: 4096 });
    const dataFiles = (await fsp.readdir(root)).filter((f) => f.endsWith(".data"));
    expect(dataFiles).toHaveLength(1);

    const reader = new ShuffleReader<(typeof records)[number]>({ mapOutputs: outputs, partition: 0 });
    const ids: string[] = [];
    for await (const e of reader.entries()) {
      ids.push(e.record.id);
      if (ids.length === 1) await fsp.rm(path.join(root, dataFiles[0]));
    }
    expect(reader.stats.frames).toBeGreaterThan(10);
    expect(ids).toEqual(records.map((r) => r.id));
  });
});
