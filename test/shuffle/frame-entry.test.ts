import { describe, expect, it } from "vitest";
import { Packr } from "msgpackr";
import { checksumOf, decodeFrameSlices, encodeEntry, type FrameRef } from "../../src/shuffle/frame.ts";
import { FrameEntry, readKey, skipValue } from "../../src/shuffle/frame-entry.ts";
import { ShuffleCorruptError } from "../../src/shuffle/index.ts";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Values that between them use every msgpack type msgpackr writes for kiln's records. */
const values: unknown[] = [
  0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31) - 1,
  0.5, -1.25, 1e300, Number.NaN, 2n ** 63n - 1n, -(2n ** 63n),
  null, true, false, undefined,
  "", "a", "x".repeat(31), "x".repeat(32), "é".repeat(200), "y".repeat(65536), "snow ☃ and 𝄞",
  new Uint8Array([1, 2, 3]), new Uint8Array(300), new Uint8Array(70000),
  new Date(1_700_000_000_000), new Date(1.5),
  [], [1, [2, [3, [4, []]]]], Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 70000 }, (_, i) => i % 3),
  {}, { a: 1, b: { c: [1, "two", { d: null }] } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
  new Map([[1, "one"], [2, "two"]]), new Set(["a", "b"]), new Float64Array([1.5, 2.5]), /ab+c/gi,
];

describe("stepping over encoded records without decoding them", () => {
  it("finds the exact end of every kind of value, alone and in a row of them", () => {
    const parts = values.map((v) => Buffer.from(packr.pack(v)));
    for (const [i, bytes] of parts.entries()) expect(skipValue(bytes, 0, bytes.length), `value ${i}`).toBe(bytes.length);
    const all = Buffer.concat(parts);
    let pos = 0;
    for (const bytes of parts) {
      const next = skipValue(all, pos, all.length);
      expect(next - pos).toBe(bytes.length);
      pos = next;
    }
    expect(pos).toBe(all.length);
  });

  it("never takes a cut-off value or a byte msgpack does not use for a whole one", () => {
    for (const v of values.slice(0, 40)) {
      const bytes = Buffer.from(packr.pack(v));
      for (let cut = 0; cut < Math.min(bytes.length, 300); cut++) expect(skipValue(bytes, 0, cut), `${String(v).slice(0, 20)} cut at ${cut}`).toBe(-1);
    }
    expect(skipValue(Buffer.from([0x92, 0x01, 0xc1]), 0, 3)).toBe(-1);
  });

  it("reads keys of every shape as msgpack decodes them and moves past them", () => {
    const keys = ["", "k", "x".repeat(31), "x".repeat(32), "ü".repeat(300), "z".repeat(70000), 0, 5, 127, 128, -7, 3.5, 2 ** 40, null, true, ["a", 1, ["b"]]];
    for (const key of keys) {
      const bytes = Buffer.concat([Buffer.from(packr.pack(key)), Buffer.from([0x07])]);
      const at = { pos: 0 };
      expect(readKey(bytes, at, bytes.length)).toEqual(key);
      expect(at.pos).toBe(bytes.length - 1);
    }
    const cut = Buffer.from(packr.pack("a longer key")).subarray(0, 5);
    const at = { pos: 0 };
    readKey(cut, at, cut.length);
    expect(at.pos).toBe(-1);
  });
});

describe("frame entries", () => {
  function frameOf(entries: Buffer[]): { bytes: Buffer; ref: FrameRef } {
    const bytes = Buffer.concat(entries);
    return { bytes, ref: { offset: 4096, length: bytes.length, rows: entries.length, rawLength: bytes.length, checksum: checksumOf(bytes) } };
  }

  it("decode a record only when it is read, and keep each entry's bytes as written", () => {
    const records = [{ id: 1, text: "first" }, { id: 2, text: "second", tags: ["a", "b"] }];
    const encoded = records.map((r, i) => Buffer.from(encodeEntry(`key-${i}`, i, r, true)));
    const { bytes, ref } = frameOf(encoded);
    const [slice] = [...decodeFrameSlices<(typeof records)[number]>("run-0.data", bytes, ref, "msgpack", true)];
    expect(slice.map((e) => [e.key, e.sort])).toEqual([["key-0", 0], ["key-1", 1]]);
    expect(slice.every((e) => e instanceof FrameEntry)).toBe(true);
    expect(slice.map((e) => e.record)).toEqual(records);
    expect(slice[1].record).toBe(slice[1].record);
    expect(slice.map((e) => (e instanceof FrameEntry ? e.encoded() : undefined))).toEqual(encoded);
  });

  it("name the file and frame of a record that cannot be decoded when it is read, not before", () => {
    // A record that is one well-formed fixext by its length, whose content msgpackr's error
    // extension (0x65) cannot decode.
    const bad = Buffer.from([0x92, 0xa1, 0x62, 0xd4, 0x65, 0x01]);
    const { bytes, ref } = frameOf([Buffer.from(encodeEntry("a", undefined, { ok: true }, false)), bad]);
    const [slice] = [...decodeFrameSlices<unknown>("map-3.data", bytes, ref, "msgpack", false)];
    expect(slice.map((e) => e.key)).toEqual(["a", "b"]);
    expect(slice[0].record).toEqual({ ok: true });
    let error: unknown;
    try {
      void slice[1].record;
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ShuffleCorruptError);
    expect(String(error)).toMatch(/map-3\.data/);
    expect(String(error)).toMatch(/4096/);
  });
});
