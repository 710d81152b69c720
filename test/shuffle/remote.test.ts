import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { joinedBytes, registerFileSystem, type FileBytes, type FileInfo, type FileStat, type FileSystem } from "../../src/io/index.ts";
import { ScatterWriter, ShuffleReader, listMapOutputs, readSidecar } from "../../src/shuffle/index.ts";
import { listFiles, tempDir } from "./helpers.ts";

/** An object store kept in memory under the `memtest://` scheme, counting ranged reads. */
class MemoryObjectStore implements FileSystem {
  readonly scheme = "memtest";
  readonly objects = new Map<string, Buffer>();
  rangeBytes = 0;
  wholeReads: string[] = [];
  async read(p: string): Promise<Buffer> {
    this.wholeReads.push(p);
    const b = this.objects.get(p);
    if (!b) throw new Error(`no object ${p}`);
    return b;
  }
  async readRange(p: string, offset: number, length: number): Promise<Buffer> {
    const b = this.objects.get(p);
    if (!b) throw new Error(`no object ${p}`);
    const out = b.subarray(offset, offset + length);
    this.rangeBytes += out.length;
    return Buffer.from(out);
  }
  async writeAtomic(p: string, data: FileBytes): Promise<void> {
    this.objects.set(p, Buffer.from(joinedBytes(data)));
  }
  async createExclusive(p: string, data: Buffer | string): Promise<boolean> {
    if (this.objects.has(p)) return false;
    this.objects.set(p, Buffer.from(data));
    return true;
  }
  async replaceIf(): Promise<boolean> {
    return false;
  }
  async exists(p: string): Promise<boolean> {
    return this.objects.has(p);
  }
  async stat(p: string): Promise<FileStat | null> {
    const b = this.objects.get(p);
    return b ? { size: b.length, generation: "1", mtimeMs: 0 } : null;
  }
  async list(prefix: string): Promise<FileInfo[]> {
    return [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([path, b]) => ({ path, size: b.length })).sort((a, b) => (a.path < b.path ? -1 : 1));
  }
  async delete(p: string): Promise<void> {
    this.objects.delete(p);
  }
  async deleteTree(prefix: string): Promise<void> {
    for (const k of [...this.objects.keys()]) if (k.startsWith(prefix)) this.objects.delete(k);
  }
  async copy(source: string, target: string, targetFs: FileSystem): Promise<void> {
    await targetFs.writeAtomic(target, await this.read(source));
  }
}

const store = new MemoryObjectStore();
let tmp: string;

beforeAll(async () => {
  registerFileSystem("memtest", () => store);
  tmp = await tempDir("remote");
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe("a shuffle on a non-local file system", () => {
  it("publishes data and sidecar through the backend and reads only the partition's byte ranges", async () => {
    const dir = "memtest://bucket/shuffle";
    const records = Array.from({ length: 4000 }, (_, i) => ({ id: i, key: `user-${i % 300}`, text: `message ${i}` }));
    for (let m = 0; m < 2; m++) {
      const writer = await ScatterWriter.open<(typeof records)[number]>({
        outputDir: dir, mapTask: m, numPartitions: 4, key: (r) => r.key, memoryBudgetBytes: 64 * 1024, tempDir: tmp,
      });
      await writer.writeAll(records.filter((r) => r.id % 2 === m));
      await writer.commit();
    }
    expect(await listFiles(tmp)).toEqual([]);
    const outputs = await listMapOutputs(dir);
    expect(outputs).toEqual(["memtest://bucket/shuffle/map-0.sidecar.json", "memtest://bucket/shuffle/map-1.sidecar.json"]);

    let total = 0;
    for (let p = 0; p < 4; p++) {
      const expectedBytes = (await Promise.all(outputs.map(readSidecar)))
        .flatMap((o) => o.body.partitions[String(p)]?.frames ?? [])
        .reduce((s, f) => s + f[1], 0);
      store.rangeBytes = 0;
      store.wholeReads = [];
      const reader = new ShuffleReader<(typeof records)[number]>({ mapOutputs: outputs, partition: p });
      for await (const _ of reader.records()) total++;
      expect(store.rangeBytes).toBe(expectedBytes);
      expect(store.wholeReads.every((path) => path.endsWith(".sidecar.json"))).toBe(true);
    }
    expect(total).toBe(records.length);
  });
});
