/**
 * Invalid UTF-8 is repaired and counted by the readers: crafted invalid sequences in plain, .zst
 * and .gz JSONL (each counted once, attributed to the batch of its line, whatever byte-range cuts
 * the file), in parquet string values (written by DuckDB as raw bytes), and the byte order mark at
 * the start of a file.
 */
import { describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { decodeUtf8Counting, expandInputs, readSplit, type InputSplit, type ReadOptions, type RecordBatch, type RejectedLine } from "../../src/io/formats.ts";
import { decodeUtf8Counting as fromTextSteps } from "../../src/steps/text/index.ts";
import { decodeValidUtf8 } from "../../src/io/utf8.ts";
import { everyCompression, suiteDir, suiteDuckDB } from "./helpers.ts";

const tmp = suiteDir("utf8");
const duck = suiteDuckDB();

/** Invalid sequences and how many U+FFFD the WHATWG decoder makes of each (maximal subparts). */
const INVALID: [string, number[], number][] = [
  ["lone continuation byte", [0x80], 1],
  ["2-byte sequence cut short", [0xc3], 1],
  ["3-byte sequence cut short", [0xe2, 0x82], 1],
  ["4-byte sequence cut short", [0xf0, 0x9f, 0x98], 1],
  ["encoded surrogate", [0xed, 0xa0, 0x80], 3],
  ["overlong slash", [0xc0, 0xaf], 2],
  ["byte never used", [0xff], 1],
  ["validly encoded U+FFFD", [0xef, 0xbf, 0xbd], 0],
];

/** One JSON line per case: `{"k": <case>, "t": "a<bytes>b"}`. */
function craftedLines(): { lines: Buffer[]; counts: number[] } {
  const lines = INVALID.map(([, bytes], k) => Buffer.concat([Buffer.from(`{"k":${k},"t":"a`), Buffer.from(bytes), Buffer.from(`b"}`)]));
  return { lines, counts: INVALID.map(([, , n]) => n) };
}

async function batchesOf(splits: InputSplit[], opts: ReadOptions = {}): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for (const split of splits) for await (const b of readSplit(split, opts)) out.push(b);
  return out;
}

const total = (batches: RecordBatch[]) => batches.reduce((s, b) => s + b.invalidUtf8, 0);

describe("decodeUtf8Counting", () => {
  it("lives in io and is the one the text steps use", () => {
    expect(fromTextSteps).toBe(decodeUtf8Counting);
    for (const [name, bytes, n] of INVALID) {
      const { text, replaced } = decodeUtf8Counting(Buffer.from([0x61, ...bytes, 0x62]));
      expect(replaced, name).toBe(n);
      expect(text, name).toBe(new TextDecoder().decode(Buffer.from([0x61, ...bytes, 0x62])));
    }
    const counted: [string, number | undefined][] = [];
    decodeUtf8Counting(Buffer.from([0xff, 0xfe]), { increment: (name, by) => void counted.push([name, by]) });
    expect(counted).toEqual([["invalid_utf8_replaced", 2]]);
  });
});

describe("decodeValidUtf8", () => {
  it("decodes text in chunks cut between characters, whatever falls on a chunk's edge", () => {
    // 1- to 4-byte characters (and a byte order mark) placed at every offset around the first chunk edges.
    for (const ch of ["é", "€", "😀", "\ufeff", "a"]) {
      for (let at = 4096 - 4; at <= 4096 + 4; at++) {
        const text = `${"x".repeat(at)}${ch}${"y".repeat(5000)}${ch}${"z".repeat(3000)}`;
        expect(decodeValidUtf8(Buffer.from(text)), `${ch} at ${at}`).toBe(text);
      }
    }
    const mixed = Array.from({ length: 3000 }, (_, i) => (i % 97 === 0 ? "Grüße, 東京 😀 " : "plain ascii words ")).join("");
    const bytes = new TextEncoder().encode(mixed); // a Uint8Array, not a Buffer
    expect(decodeValidUtf8(bytes)).toBe(mixed);
    expect(decodeValidUtf8(Buffer.from("ascii only ".repeat(1000)))).toBe("ascii only ".repeat(1000));
  });
});

describe("JSONL readers count invalid UTF-8", () => {
  it("in plain, .zst and .gz files, one count per replacement, in the batch of its line", async () => {
    const { lines, counts } = craftedLines();
    const body = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]));
    const expectedRows = lines.map((l) => JSON.parse(new TextDecoder().decode(l)));
    for (const [name, bytes] of everyCompression("bad", body)) {
      const file = path.join(tmp.path, name);
      await fsp.writeFile(file, bytes);
      const batches = await batchesOf(await expandInputs(file), { batchRows: 1 });
      expect(batches.flatMap((b) => b.rows), name).toEqual(expectedRows);
      expect(batches.map((b) => b.invalidUtf8), name).toEqual(counts);
      expect(batches.reduce((s, b) => s + b.bytes, 0), name).toBe(body.length);
    }
  });

  it("valid text, including a validly encoded U+FFFD, counts nothing", async () => {
    const file = path.join(tmp.path, "valid.jsonl");
    await fsp.writeFile(file, `{"t":"ünïcödé \ufffd 日本語 😀"}\n`);
    const batches = await batchesOf(await expandInputs(file));
    expect(total(batches)).toBe(0);
    expect(batches[0].rows).toEqual([{ t: "ünïcödé \ufffd 日本語 😀" }]);
  });

  it("once per replacement across byte-range splits, wherever the cut falls", async () => {
    const { lines } = craftedLines();
    const parts: Buffer[] = [];
    for (let i = 0; i < 40; i++) parts.push(lines[i % lines.length], Buffer.from(i % 3 ? "\n" : "\r\n"));
    const body = Buffer.concat(parts);
    const file = path.join(tmp.path, "ranged.jsonl");
    await fsp.writeFile(file, body);
    const whole = await batchesOf(await expandInputs(file));
    const wholeRows = whole.flatMap((b) => b.rows);
    expect(total(whole)).toBe(5 * INVALID.reduce((s, [, , n]) => s + n, 0));
    // Every cut position, including ones inside invalid sequences and right after them.
    for (let cut = 1; cut < body.length; cut += 3) {
      const halves: InputSplit[] = [
        { path: file, format: "jsonl", size: body.length, start: 0, end: cut },
        { path: file, format: "jsonl", size: body.length, start: cut, end: body.length },
      ];
      const batches = await batchesOf(halves);
      expect(total(batches), `cut at ${cut}`).toBe(total(whole));
      expect(batches.flatMap((b) => b.rows), `cut at ${cut}`).toEqual(wholeRows);
    }
  });

  it("a rejected line's byte offset is exact after invalid bytes", async () => {
    const { lines } = craftedLines();
    const body = Buffer.concat([lines[4], Buffer.from("\n"), lines[5], Buffer.from("\n{broken\n")]);
    const file = path.join(tmp.path, "offset.jsonl");
    await fsp.writeFile(file, body);
    const rejected: RejectedLine[] = [];
    const batches = await batchesOf(await expandInputs(file), { rejects: { reject: (r) => void rejected.push(r) } });
    expect(rejected.map((r) => [r.line, r.byteOffset, r.rawBytes])).toEqual([[3, body.indexOf("{broken"), 7]]);
    expect(total(batches)).toBe(5);
  });
});

describe("byte order mark", () => {
  const text = `{"a":1}\n{"a":2}\n`;
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);

  it("is dropped at the start of plain, .zst and .gz files, and its bytes are still counted", async () => {
    for (const [name, bytes] of everyCompression("bom", withBom)) {
      const file = path.join(tmp.path, name);
      await fsp.writeFile(file, bytes);
      const batches = await batchesOf(await expandInputs(file));
      expect(batches.flatMap((b) => b.rows), name).toEqual([{ a: 1 }, { a: 2 }]);
      expect(batches.reduce((s, b) => s + b.bytes, 0), name).toBe(withBom.length);
      expect(total(batches), name).toBe(0);
    }
  });

  it("is text anywhere else: a line that starts with one is not JSON", async () => {
    const file = path.join(tmp.path, "bom-later.jsonl");
    await fsp.writeFile(file, `{"a":1}\n\ufeff{"a":2}\n`);
    const rejected: RejectedLine[] = [];
    const batches = await batchesOf(await expandInputs(file), { rejects: { reject: (r) => void rejected.push(r) } });
    expect(batches.flatMap((b) => b.rows)).toEqual([{ a: 1 }]);
    expect(rejected.map((r) => [r.reason, r.line, r.byteOffset])).toEqual([["malformed-json", 2, 8]]);
  });
});

describe("parquet readers count invalid UTF-8", () => {
  it("in string values written as raw bytes by another tool", async () => {
    const file = path.join(tmp.path, "bytes.parquet");
    // Two rows: 'a\xFF\xFEb' (2 replacements) and 'c\xEF\xBF\xBDd' (a valid U+FFFD, none); one null.
    await duck.db.run(
      `COPY (SELECT * FROM (VALUES (1, 'a\\xFF\\xFEb'::BLOB), (2, 'c\\xEF\\xBF\\xBDd'::BLOB), (3, NULL)) t(n, t)) TO '${file}' (FORMAT parquet)`,
    );
    const batches = await batchesOf(await expandInputs(file), { batchRows: 1 });
    expect(batches.flatMap((b) => b.rows)).toEqual([
      { n: 1, t: "a\ufffd\ufffdb" },
      { n: 2, t: "c\ufffdd" },
      { n: 3, t: null },
    ]);
    expect(batches.map((b) => b.invalidUtf8)).toEqual([2, 0, 0]);
  });
});
