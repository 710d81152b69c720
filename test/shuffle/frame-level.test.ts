// How shuffle frames are written: stored uncompressed on local disk, zstd level 1 for gs:// (the
// fake GCS server), one level for both from KILN_SHUFFLE_ZSTD_LEVEL, and a clear error for a bad one.
import { afterEach, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { FRAME_LEVEL_VARIABLE, ScatterWriter, ShuffleConfigError, readSidecar, type ScatterWriterOptions } from "../../src/shuffle/index.ts";
import { useFakeGcs } from "../support/fake-gcs-suite.ts";
import { readAll, suiteDir } from "./helpers.ts";

interface Row {
  key: string;
  text: string;
}

const words = ["kiln", "shuffle", "frame", "level", "disk", "bucket", "record", "partition", "merge", "run"];
const rows: Row[] = Array.from({ length: 3000 }, (_, i) => ({
  key: `k${i % 40}`,
  text: Array.from({ length: 30 }, (_, w) => words[(i * 7 + w * 3) % words.length]).join(" ") + ` ${i}`,
}));

const tmp = suiteDir("frame-level");
useFakeGcs();

/** Writes `rows` as one map task; the sidecar's compressed and raw byte totals. */
async function writeOnce(outputDir: string, extra: Partial<ScatterWriterOptions<Row>> = {}): Promise<{ compressed: number; raw: number; codec: string; sidecar: string }> {
  const writer = await ScatterWriter.open<Row>({ outputDir, mapTask: 0, numPartitions: 2, key: (r) => r.key, memoryBudgetBytes: 256 * 1024, ...extra });
  await writer.writeAll(rows);
  const out = await writer.commit();
  const frames = Object.values(out.body.partitions).flatMap((p) => p.frames);
  return { compressed: frames.reduce((n, f) => n + f[1], 0), raw: frames.reduce((n, f) => n + f[3], 0), codec: out.body.codec, sidecar: out.sidecarPath };
}

afterEach(() => {
  delete process.env[FRAME_LEVEL_VARIABLE];
});

describe("shuffle frame compression level", () => {
  it("stores local frames uncompressed, names that codec in the sidecar, and reads them back", async () => {
    const stored = await writeOnce(`${tmp.path}/local-default`);
    const one = await writeOnce(`${tmp.path}/local-level-1`, { compressionLevel: 1 });
    expect(stored.raw).toBe(one.raw);
    expect(stored.compressed).toBe(stored.raw);
    expect([stored.codec, one.codec]).toEqual(["msgpack", "zstd+msgpack"]);
    expect(stored.compressed).toBeGreaterThan(one.compressed * 2);
    const { entries } = await readAll<Row>({ mapOutputs: [stored.sidecar], partition: 0 });
    const { entries: expected } = await readAll<Row>({ mapOutputs: [one.sidecar], partition: 0 });
    expect(entries.map((e) => e.record)).toEqual(expected.map((e) => e.record));
    expect(entries.length).toBeGreaterThan(0);
  });

  it("writes frames bound for gs:// at level 1", async () => {
    const remote = await writeOnce("gs://kiln-frame-level/remote");
    const one = await writeOnce(`${tmp.path}/compare-level-1`, { compressionLevel: 1 });
    expect(remote.compressed).toBe(one.compressed);
    expect(remote.codec).toBe("zstd+msgpack");
    expect((await readSidecar(remote.sidecar)).body.rows).toBe(rows.length);
  });

  it("takes one level for local and remote frames from KILN_SHUFFLE_ZSTD_LEVEL", async () => {
    const one = await writeOnce(`${tmp.path}/explicit-1`, { compressionLevel: 1 });
    process.env[FRAME_LEVEL_VARIABLE] = "1";
    expect((await writeOnce(`${tmp.path}/env-1`)).compressed).toBe(one.compressed);
    process.env[FRAME_LEVEL_VARIABLE] = "-100";
    expect((await writeOnce("gs://kiln-frame-level/env-fast")).compressed).toBe((await writeOnce(`${tmp.path}/explicit-fast`, { compressionLevel: -100 })).compressed);
    process.env[FRAME_LEVEL_VARIABLE] = "none";
    const remoteStored = await writeOnce("gs://kiln-frame-level/env-none");
    expect([remoteStored.codec, remoteStored.compressed]).toEqual(["msgpack", remoteStored.raw]);
    const { entries } = await readAll<Row>({ mapOutputs: [remoteStored.sidecar], partition: 1 });
    const { entries: expected } = await readAll<Row>({ mapOutputs: [one.sidecar], partition: 1 });
    expect(entries.map((e) => e.record)).toEqual(expected.map((e) => e.record));
    expect(entries.length).toBeGreaterThan(0);
  });

  it("refuses a value that is not a zstd level, naming the variable, before it creates any file", async () => {
    for (const bad of ["fast", "1.5", "23"]) {
      process.env[FRAME_LEVEL_VARIABLE] = bad;
      const dir = `${tmp.path}/bad-${bad}`;
      const error = await writeOnce(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShuffleConfigError);
      expect((error as Error).message).toContain(`${FRAME_LEVEL_VARIABLE}="${bad}" is not a zstd level`);
      expect(await fsp.readdir(dir).catch(() => [])).toEqual([]);
    }
  });
});
