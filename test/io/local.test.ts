import { afterAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { localFileSystem } from "../../src/io/index.ts";
import { tempDir } from "./helpers.ts";

const dir = await tempDir("local-fs");
afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

describe("local writeAtomic", () => {
  it("writes a file given in pieces, in order, over one it replaces, leaving no temporary file", async () => {
    const file = path.join(dir, "pieces", "out.bin");
    await localFileSystem.writeAtomic(file, "old contents");
    // More pieces than one gathered write takes (IOV_MAX is 1024), of varied sizes, some empty.
    const pieces = Array.from({ length: 3000 }, (_, i) => new Uint8Array(i % 5 === 0 ? 0 : (i % 97) + 1).fill(i % 251));
    await localFileSystem.writeAtomic(file, pieces);
    expect(await fsp.readFile(file)).toEqual(Buffer.concat(pieces));
    expect(await fsp.readdir(path.dirname(file))).toEqual(["out.bin"]);
  });
});
