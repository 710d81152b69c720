// Token shards: streamed writes published by rename, uint16/uint32 round trips, the header bytes
// as the format says, and typed errors for corrupt, truncated or mis-sized files and bad ids.
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { readTokenShard, TokenShardError, TokenShardWriter, writeTokenShard } from "../../src/tokenizers/index.ts";
import { useFakeGcs } from "../support/fake-gcs-suite.ts";

const dir = () => mkdtempSync(join(tmpdir(), "kiln-shards-"));

function randomIds(n: number, below: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % below;
  }
  return out;
}

describe("token shards", () => {
  for (const [vocabSize, dtype] of [[50257, 2], [65536, 2], [65537, 4], [200019, 4]] as const) {
    it(`round-trips a streamed shard for vocabSize ${vocabSize} as ${dtype * 8}-bit`, async () => {
      const path = join(dir(), "nested", "part-00000.tok");
      const writer = await TokenShardWriter.open(path, { vocabSize });
      const batches = [randomIds(1000, vocabSize, 1), randomIds(700_000, vocabSize, 2), randomIds(0, vocabSize, 3), randomIds(5, vocabSize, 4)];
      for (const b of batches) await writer.append(b);
      expect(existsSync(path)).toBe(false);
      const result = await writer.close();
      expect(result.tokens).toBe(701_005);
      expect(readdirSync(join(path, ".."))).toEqual(["part-00000.tok"]);
      const raw = readFileSync(path);
      expect(raw.length).toBe(32 + 701_005 * dtype);
      expect(raw.subarray(0, 8).toString("latin1")).toBe("KILNTOK\0");
      expect(raw.readUInt32LE(8)).toBe(1);
      expect(raw.readUInt32LE(12)).toBe(dtype);
      expect(raw.readBigUInt64LE(16)).toBe(701_005n);
      expect(raw.readBigUInt64LE(24)).toBe(0n);
      const shard = await readTokenShard(path);
      expect(shard.dtype).toBe(dtype);
      expect(shard.tokens).toBeInstanceOf(dtype === 2 ? Uint16Array : Uint32Array);
      const expected = new Uint32Array(701_005);
      let at = 0;
      for (const b of batches) (expected.set(b, at), (at += b.length));
      expect(Buffer.from(Uint32Array.from(shard.tokens).buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      expect(raw.readUInt16LE(32)).toBe(batches[0][0] & 0xffff);
    });
  }

  // The writer gathers appends in 1 MiB chunks: many small appends of every array kind must cross
  // chunk ends without losing, repeating or reordering an id, on local files and on gs:// alike.
  useFakeGcs();
  for (const where of ["local", "gs"] as const) {
    for (const [vocabSize, dtype] of [[50257, 2], [100277, 4]] as const) {
      it(`keeps every id of many small mixed appends across chunk ends (${where}, ${dtype * 8}-bit)`, async () => {
        const path = where === "local" ? join(dir(), "part-00000.tok") : `gs://kiln-shards/mixed-${dtype}/part-00000.tok`;
        const ids = randomIds(900_001, vocabSize, 11);
        const writer = await TokenShardWriter.open(path, { vocabSize });
        for (let at = 0, k = 0; at < ids.length; k++) {
          const piece = ids.subarray(at, Math.min(ids.length, at + 1 + (k * 7919) % 1500));
          const kind = k % 3;
          await writer.append(kind === 0 ? piece : kind === 1 ? Array.from(piece) : dtype === 2 ? Uint16Array.from(piece) : Uint32Array.from(piece));
          at += piece.length;
        }
        expect(await writer.close()).toMatchObject({ tokens: ids.length, bytes: 32 + ids.length * dtype });
        const shard = await readTokenShard(path);
        expect(shard.count).toBe(ids.length);
        expect(Buffer.from(Uint32Array.from(shard.tokens).buffer).equals(Buffer.from(ids.buffer))).toBe(true);
      });
    }
  }

  it("reports a corrupt or truncated header, a wrong length and a wrong dtype", async () => {
    const d = dir();
    const good = join(d, "good.tok");
    await writeTokenShard(good, [1, 2, 3, 4], 1000);
    const bytes = readFileSync(good);
    const variants: [string, Buffer, RegExp][] = [
      ["magic.tok", Buffer.concat([Buffer.from("NOTTOKEN"), bytes.subarray(8)]), /bad magic/],
      ["short.tok", bytes.subarray(0, 20), /shorter than the 32-byte header/],
      ["truncated.tok", bytes.subarray(0, bytes.length - 1), /header says 4 tokens/],
      ["version.tok", Buffer.from(bytes).fill(7, 8, 9), /unsupported version 7/],
      ["dtype.tok", Buffer.from(bytes).fill(3, 12, 13), /bad dtype 3/],
      ["reserved.tok", Buffer.from(bytes).fill(1, 24, 25), /reserved/],
    ];
    for (const [name, content, message] of variants) {
      const path = join(d, name);
      writeFileSync(path, content);
      const read = readTokenShard(path);
      await expect(read).rejects.toThrow(TokenShardError);
      await expect(readTokenShard(path)).rejects.toThrow(new RegExp(`${name.replace(".", "\\.")}: .*${message.source}`));
    }
    expect(Array.from((await readTokenShard(good)).tokens)).toEqual([1, 2, 3, 4]);
  });

  it("refuses ids outside the vocabulary instead of truncating them, and abort publishes nothing", async () => {
    const d = dir();
    const path = join(d, "bad.tok");
    await expect(writeTokenShard(path, [1, 70000], 65536)).rejects.toThrow(/token 70000 at position 1/);
    await expect(writeTokenShard(path, [1.5], 100)).rejects.toThrow(TokenShardError);
    expect(readdirSync(d)).toEqual([]);
    const writer = await TokenShardWriter.open(path, { vocabSize: 10 });
    await writer.append([1, 2]);
    await writer.abort();
    expect(readdirSync(d)).toEqual([]);
  });

  it("is readable from Python with numpy.memmap following the documented layout", async () => {
    const d = dir();
    const cases = [
      { path: join(d, "u16.tok"), vocabSize: 50257, tokens: randomIds(10_001, 50257, 9) },
      { path: join(d, "u32.tok"), vocabSize: 200019, tokens: randomIds(9_999, 200019, 10) },
    ];
    for (const c of cases) await writeTokenShard(c.path, c.tokens, c.vocabSize);
    const script = [
      "import json, struct, sys, numpy as np",
      "out = []",
      "for path in sys.argv[1:]:",
      "    head = open(path, 'rb').read(32)",
      "    magic, version, dtype, count, reserved = struct.unpack('<8sIIQQ', head)",
      "    assert magic == b'KILNTOK\\0' and version == 1 and reserved == 0",
      "    arr = np.memmap(path, dtype={2: '<u2', 4: '<u4'}[dtype], mode='r', offset=32, shape=(count,))",
      "    out.append({'dtype': dtype, 'count': int(count), 'sum': int(arr.astype(np.uint64).sum()), 'last': int(arr[-1])})",
      "print(json.dumps(out))",
    ].join("\n");
    const seen = JSON.parse(execFileSync("python3", ["-c", script, ...cases.map((c) => c.path)], { encoding: "utf8" }));
    expect(seen).toEqual(
      cases.map((c) => ({
        dtype: c.vocabSize <= 65536 ? 2 : 4,
        count: c.tokens.length,
        sum: c.tokens.reduce((a, b) => a + b, 0),
        last: c.tokens[c.tokens.length - 1],
      })),
    );
  });
});
