import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { xxh3, xxh64 } from "@node-rs/xxhash";
import { ShuffleCorruptError, ShuffleReader, partitionOf, readSidecar } from "../../src/shuffle/index.ts";
import { readAll, scatter, tempDir } from "./helpers.ts";

interface Row {
  id: number;
  key: string;
  text: string;
}

let root: string;
const rows: Row[] = Array.from({ length: 2000 }, (_, i) => ({ id: i, key: `k${i % 50}`, text: `row ${i} of the corruption test, some filler text ${i * 31}` }));

beforeAll(async () => {
  root = await tempDir("corrupt");
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function fresh(name: string, compressionLevel?: number): Promise<string[]> {
  return scatter([rows.slice(0, 1000), rows.slice(1000)], {
    outputDir: `${root}/${name}`,
    numPartitions: 2,
    key: (r) => r.key,
    memoryBudgetBytes: 32 * 1024,
    ...(compressionLevel === undefined ? {} : { compressionLevel }),
  });
}

/** Overwrites bytes of one frame and records the damaged frame's checksum in the sidecar, so only the codec's own checks can find it. */
async function damageBehindChecksum(sidecarPath: string, damage: (frame: Buffer) => void): Promise<number> {
  const parsed = JSON.parse(await fsp.readFile(sidecarPath, "utf8"));
  const out = await readSidecar(sidecarPath);
  const frame = parsed.body.partitions["1"].frames[1];
  const data = await fsp.readFile(out.dataPath);
  damage(data.subarray(frame[0], frame[0] + frame[1]));
  await fsp.writeFile(out.dataPath, data);
  frame[4] = xxh64(data.subarray(frame[0], frame[0] + frame[1])).toString(16).padStart(16, "0");
  parsed.checksum = xxh64(Buffer.from(JSON.stringify(parsed.body))).toString(16).padStart(16, "0");
  await fsp.writeFile(sidecarPath, JSON.stringify(parsed));
  return frame[0];
}

async function drain(outputs: string[], partition: number): Promise<{ count: number; error: unknown }> {
  let count = 0;
  try {
    for await (const _ of new ShuffleReader<Row>({ mapOutputs: outputs, partition }).entries()) count++;
  } catch (error) {
    return { count, error };
  }
  return { count, error: undefined };
}

describe("damaged shuffle files", () => {
  it("reports a frame with flipped bytes by data file and frame offset instead of skipping it", async () => {
    const outputs = await fresh("flip");
    const out = await readSidecar(outputs[1]);
    const [offset, length] = out.body.partitions["1"].frames[2];
    const data = await fsp.readFile(out.dataPath);
    for (let i = 0; i < 4; i++) data[offset + Math.floor(length / 3) + i] ^= 0x5a;
    await fsp.writeFile(out.dataPath, data);

    const { count, error } = await drain(outputs, 1);
    expect(count).toBe(0);
    expect(error).toBeInstanceOf(ShuffleCorruptError);
    const e = error as ShuffleCorruptError;
    expect(e.code).toBe("KILN_SHUFFLE_CORRUPT");
    expect(e.file).toBe(out.dataPath);
    expect(e.offset).toBe(offset);
    expect(e.message).toContain(out.dataPath);
    expect(e.message).toContain(`offset ${offset}`);
    // The other partition's frames are intact and still read in full.
    const other = await readAll<Row>({ mapOutputs: outputs, partition: 0 });
    expect(other.entries.length).toBe(rows.filter((r) => partitionOf(r.key, 2) === 0).length);
  });

  it("reports a truncated sidecar by file and the offset where it ends", async () => {
    const outputs = await fresh("short-sidecar");
    const full = await fsp.readFile(outputs[0]);
    const cut = Math.floor(full.length * 0.6);
    await fsp.writeFile(outputs[0], full.subarray(0, cut));
    const { count, error } = await drain(outputs, 0);
    expect(count).toBe(0);
    expect(error).toBeInstanceOf(ShuffleCorruptError);
    const e = error as ShuffleCorruptError;
    expect(e.file).toBe(outputs[0]);
    expect(e.offset).toBe(cut);
    expect(e.message).toMatch(/not complete JSON/);
  });

  it("rejects a sidecar whose content was altered but still parses", async () => {
    const outputs = await fresh("edited-sidecar");
    const text = await fsp.readFile(outputs[0], "utf8");
    const parsed = JSON.parse(text);
    parsed.body.partitions["0"].frames[0][2] += 1; // claim one more row
    await fsp.writeFile(outputs[0], JSON.stringify(parsed));
    const { error } = await drain(outputs, 0);
    expect(error).toBeInstanceOf(ShuffleCorruptError);
    expect((error as ShuffleCorruptError).file).toBe(outputs[0]);
    expect((error as Error).message).toMatch(/checksum/);
  });

  it("records each frame's XXH64 of its compressed bytes and the sidecar's XXH64 of its body", async () => {
    const outputs = await fresh("checksums");
    const out = await readSidecar(outputs[0]);
    const data = await fsp.readFile(out.dataPath);
    const frames = Object.values(out.body.partitions).flatMap((p) => p.frames);
    expect(frames.length).toBeGreaterThan(2);
    for (const [offset, length, , , checksum] of frames) {
      expect(checksum).toBe(xxh64(data.subarray(offset, offset + length)).toString(16).padStart(16, "0"));
    }
    const text = JSON.parse(await fsp.readFile(outputs[0], "utf8"));
    expect(text.checksum).toBe(xxh64(Buffer.from(JSON.stringify(text.body))).toString(16).padStart(16, "0"));
  });

  it("names a sidecar of the earlier format (XXH3 checksums) as such rather than as a checksum mismatch", async () => {
    const outputs = await fresh("old-format");
    const parsed = JSON.parse(await fsp.readFile(outputs[0], "utf8"));
    parsed.body.format = "kiln-shuffle-sidecar/2";
    parsed.checksum = xxh3.xxh64(Buffer.from(JSON.stringify(parsed.body))).toString(16).padStart(16, "0");
    await fsp.writeFile(outputs[0], JSON.stringify(parsed));
    const { count, error } = await drain(outputs, 0);
    expect(count).toBe(0);
    expect(error).toBeInstanceOf(ShuffleCorruptError);
    expect((error as Error).message).toMatch(/unsupported sidecar format kiln-shuffle-sidecar\/2 .*this kiln reads kiln-shuffle-sidecar\/3/);
  });

  it("reports damage that matches its checksum through each codec's own checks, by file and frame offset", async () => {
    // Stored frames (the local default): an entry cut short leaves bytes that are not whole entries.
    const stored = await fresh("stored-behind-checksum");
    expect((await readSidecar(stored[0])).body.codec).toBe("msgpack");
    const storedOffset = await damageBehindChecksum(stored[0], (frame) => frame.fill(0xc1, 0, 8));
    const storedRead = await drain(stored, 1);
    expect(storedRead.error).toBeInstanceOf(ShuffleCorruptError);
    expect((storedRead.error as ShuffleCorruptError).offset).toBe(storedOffset);
    expect((storedRead.error as Error).message).toMatch(/undecodable entries|not a 2-tuple/);
    // zstd frames: bytes zstd cannot decode.
    const zstd = await fresh("zstd-behind-checksum", 1);
    expect((await readSidecar(zstd[0])).body.codec).toBe("zstd+msgpack");
    const zstdOffset = await damageBehindChecksum(zstd[0], (frame) => frame.fill(0x5a, 4, 12));
    const zstdRead = await drain(zstd, 1);
    expect(zstdRead.error).toBeInstanceOf(ShuffleCorruptError);
    expect((zstdRead.error as ShuffleCorruptError).offset).toBe(zstdOffset);
    expect((zstdRead.error as Error).message).toMatch(/zstd cannot decompress/);
  });

  it("refuses a sidecar naming a codec it does not read, naming the codec", async () => {
    const outputs = await fresh("unknown-codec");
    const parsed = JSON.parse(await fsp.readFile(outputs[0], "utf8"));
    parsed.body.codec = "lz4+msgpack";
    parsed.checksum = xxh64(Buffer.from(JSON.stringify(parsed.body))).toString(16).padStart(16, "0");
    await fsp.writeFile(outputs[0], JSON.stringify(parsed));
    const { count, error } = await drain(outputs, 0);
    expect(count).toBe(0);
    expect(error).toBeInstanceOf(ShuffleCorruptError);
    expect((error as Error).message).toMatch(/codec lz4\+msgpack \(this kiln reads .*zstd\+msgpack or msgpack\)/);
  });

  it("reports a truncated data file at the byte where the data ends", async () => {
    const outputs = await fresh("short-data");
    const out = await readSidecar(outputs[0]);
    const frames = [...out.body.partitions["0"].frames, ...out.body.partitions["1"].frames].sort((a, b) => b[0] - a[0]);
    const last = frames[0];
    const cut = last[0] + Math.floor(last[1] / 2);
    await fsp.truncate(out.dataPath, cut);
    const partition = out.body.partitions["0"].frames.includes(last) ? 0 : 1;
    const { error } = await drain(outputs, partition);
    expect(error).toBeInstanceOf(ShuffleCorruptError);
    expect((error as ShuffleCorruptError).file).toBe(out.dataPath);
    expect((error as ShuffleCorruptError).offset).toBe(cut);
    expect((error as Error).message).toMatch(/truncated frame/);
  });
});
