import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcsFileSystem, fileSystemFor, localFileSystem, StorageError, configureGcs } from "../../src/io/index.ts";
import { crc32c, crc32cBase64, startFakeGcsServer, type FakeGcsServer } from "../support/gcs-server.ts";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

let server: FakeGcsServer;
let gcs: GcsFileSystem;

beforeAll(async () => {
  server = await startFakeGcsServer();
  gcs = new GcsFileSystem({ apiEndpoint: server.endpoint, listPageSize: 3, maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
});

describe("fake GCS server hashes", () => {
  it("computes the standard CRC32C check value", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32cBase64(Buffer.from(""))).toBe("AAAAAA==");
  });
});

describe("GcsFileSystem against the fake server with the official client", () => {
  it("uploads, reads whole and ranged, stats", async () => {
    const data = Buffer.from("0123456789abcdefghij");
    await gcs.writeAtomic("gs://bkt/a/one.bin", data);
    expect(server.getObject("bkt", "a/one.bin")).toEqual(data);
    expect(await gcs.read("gs://bkt/a/one.bin")).toEqual(data);
    expect((await gcs.readRange("gs://bkt/a/one.bin", 5, 4)).toString()).toBe("5678");
    expect((await gcs.readRange("gs://bkt/a/one.bin", 18, 10)).toString()).toBe("ij");
    expect((await gcs.readRange("gs://bkt/a/one.bin", 25, 10)).length).toBe(0);
    const st = await gcs.stat("gs://bkt/a/one.bin");
    expect(st?.size).toBe(20);
    expect(st?.generation).toMatch(/^\d+$/);
    expect(await gcs.stat("gs://bkt/a/missing")).toBeNull();
    expect(await gcs.exists("gs://bkt/a/one.bin")).toBe(true);
    expect(server.requests.some((r) => r.includes("uploadType=multipart"))).toBe(true);
  });

  it("uploads a file given in pieces as one object", async () => {
    const pieces = [Buffer.from("first "), new Uint8Array(0), Buffer.from("second "), new TextEncoder().encode("third")];
    await gcs.writeAtomic("gs://bkt/a/pieces.txt", pieces);
    expect(server.getObject("bkt", "a/pieces.txt")?.toString()).toBe("first second third");
  });

  it("streams a ranged read", async () => {
    await gcs.writeAtomic("gs://bkt/s/stream.txt", "hello streaming world");
    const parts: Buffer[] = [];
    for await (const c of gcs.readStream("gs://bkt/s/stream.txt", { start: 6, end: 15 })) parts.push(c as Buffer);
    expect(Buffer.concat(parts).toString()).toBe("streaming");
  });

  it("lists with sizes across pages, as a folder", async () => {
    const names = ["l/a", "l/b", "l/c/d", "l/e", "l/f", "l/g", "l/h", "lx/not-me"];
    for (const [i, n] of names.entries()) await gcs.writeAtomic(`gs://bkt/${n}`, "x".repeat(i + 1));
    const before = server.requests.length;
    const listed = await gcs.list("gs://bkt/l");
    expect(listed.map((f) => f.path)).toEqual(names.slice(0, 7).map((n) => `gs://bkt/${n}`));
    expect(listed.map((f) => f.size)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const pages = server.requests.slice(before).filter((r) => r.startsWith("GET /storage/v1/b/bkt/o?"));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.some((r) => r.includes("pageToken="))).toBe(true);
  });

  it("deletes files and trees", async () => {
    await gcs.delete("gs://bkt/l/a");
    await gcs.delete("gs://bkt/l/a"); // missing is fine
    expect(await gcs.exists("gs://bkt/l/a")).toBe(false);
    await gcs.deleteTree("gs://bkt/l");
    expect(await gcs.list("gs://bkt/l")).toEqual([]);
    expect((await gcs.list("gs://bkt/lx")).length).toBe(1);
  });

  it("honours generation preconditions", async () => {
    expect(await gcs.createExclusive("gs://bkt/lease", "first")).toBe(true);
    expect(await gcs.createExclusive("gs://bkt/lease", "second")).toBe(false);
    expect((await gcs.read("gs://bkt/lease")).toString()).toBe("first");
    const gen = (await gcs.stat("gs://bkt/lease"))!.generation;
    expect(await gcs.replaceIf("gs://bkt/lease", "third", gen)).toBe(true);
    expect(await gcs.replaceIf("gs://bkt/lease", "stale", gen)).toBe(false);
    expect((await gcs.read("gs://bkt/lease")).toString()).toBe("third");
    expect(await gcs.replaceIf("gs://bkt/nothing-here", "x", gen)).toBe(false);
    expect(server.requests.some((r) => r.includes("ifGenerationMatch=0"))).toBe(true);
  });

  it("copies server-side and across backends", async () => {
    await gcs.writeAtomic("gs://bkt/c/src", "copy me");
    const before = server.requests.length;
    await gcs.copy("gs://bkt/c/src", "gs://other/c/dst", gcs);
    expect(server.requests.slice(before).some((r) => r.includes("/rewriteTo/b/other/o/"))).toBe(true);
    expect((await gcs.read("gs://other/c/dst")).toString()).toBe("copy me");
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "kiln-gcs-"));
    try {
      await gcs.copy("gs://bkt/c/src", path.join(dir, "x/local"), localFileSystem);
      expect(await fsp.readFile(path.join(dir, "x/local"), "utf8")).toBe("copy me");
      await localFileSystem.copy(path.join(dir, "x/local"), "gs://bkt/c/back", gcs);
      expect((await gcs.read("gs://bkt/c/back")).toString()).toBe("copy me");
      const big = Buffer.alloc(300_000, 7);
      await fsp.writeFile(path.join(dir, "big"), big);
      const resumable = new GcsFileSystem({ apiEndpoint: server.endpoint, resumableThresholdBytes: 1000, maxRetries: 0 });
      await resumable.writeAtomicFromFile("gs://bkt/c/big", path.join(dir, "big"));
      expect(server.getObject("bkt", "c/big")).toEqual(big);
      expect(server.requests.some((r) => r.includes("uploadType=resumable"))).toBe(true);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it("fails a download whose crc32c does not match, naming the object", async () => {
    await gcs.writeAtomic("gs://bkt/bad", "some bytes to damage");
    server.corrupt("bkt", "bad");
    const err = await gcs.read("gs://bkt/bad").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(String((err as Error).message)).toContain("gs://bkt/bad");
  });

  it("wraps a missing object in a StorageError naming it", async () => {
    const err = await gcs.read("gs://bkt/none").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toContain("gs://bkt/none");
  });

  it("takes its endpoint from KILN_GCS_ENDPOINT", async () => {
    const saved = process.env.KILN_GCS_ENDPOINT;
    process.env.KILN_GCS_ENDPOINT = server.endpoint;
    try {
      const fromEnv = new GcsFileSystem({ maxRetries: 0 });
      expect((await fromEnv.read("gs://bkt/a/one.bin")).toString()).toBe("0123456789abcdefghij");
    } finally {
      if (saved === undefined) delete process.env.KILN_GCS_ENDPOINT;
      else process.env.KILN_GCS_ENDPOINT = saved;
    }
  });

  it("is what fileSystemFor returns for gs:// once configured", async () => {
    configureGcs({ apiEndpoint: server.endpoint, maxRetries: 0 });
    const fs = fileSystemFor("gs://bkt/a/one.bin");
    expect(fs.scheme).toBe("gs");
    expect((await fs.read("gs://bkt/a/one.bin")).toString()).toBe("0123456789abcdefghij");
  });
});
