import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "zstd-napi";
import {
  CorruptFileError,
  expandInputs,
  MalformedRecordError,
  openWriter,
  readSplit,
  type InputSplit,
  type RejectedLine,
} from "../../src/io/formats.ts";
import { readAll, tempDir, multiset } from "./helpers.ts";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("jsonl");
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sampleRows = [
  { id: "a", text: "hello", n: 1, score: 0.5, ok: true, tags: ["x", "y"], meta: { lang: "en" } },
  { id: "b", text: "ünïcödé ✓ 日本語", n: -7, score: null, ok: false, tags: [], meta: {} },
  { id: "c", text: "line\nbreak and \"quotes\"", n: 2 ** 40, score: 1e-9, ok: true, tags: ["z"], meta: { a: [1, 2] } },
];

describe("jsonl round trips", () => {
  for (const format of ["jsonl", "jsonl.zst"] as const) {
    it(`writes and reads back ${format}, committing only on close`, async () => {
      const target = path.join(dir, `rt-${format}`, `out.${format}`);
      const w = openWriter(target, format, { level: 5 });
      await w.write(sampleRows.slice(0, 2));
      await w.write(sampleRows.slice(2));
      await expect(fsp.access(target)).rejects.toThrow();
      const result = await w.close();
      expect(result).toEqual({ path: target, rows: 3, bytes: (await fsp.stat(target)).size });
      const [split] = await expandInputs(target);
      expect(await readAll(split)).toEqual(sampleRows);
      expect(await fsp.readdir(path.dirname(target))).toEqual([`out.${format}`]);
    });
  }

  it("reads jsonl.gz (multi-member too), skipping a byte order mark and blank lines", async () => {
    const text = sampleRows.map((r) => JSON.stringify(r)).join("\n");
    const file = path.join(dir, "rt.jsonl.gz");
    await fsp.writeFile(file, Buffer.concat([gzipSync("\uFEFF" + text + "\n\n"), gzipSync("  \r\n" + JSON.stringify({ id: "d" }))]));
    const [split] = await expandInputs(file);
    expect(await readAll(split)).toEqual([...sampleRows, { id: "d" }]);
  });

  it("abort leaves no file and no temporary", async () => {
    const target = path.join(dir, "aborted", "x.jsonl.zst");
    const w = openWriter(target, "jsonl.zst");
    await w.write(sampleRows);
    await w.abort();
    expect(await fsp.readdir(path.dirname(target))).toEqual([]);
  });

  it("batches rows and numbers batches by line", async () => {
    const file = path.join(dir, "batched.jsonl");
    await fsp.writeFile(file, Array.from({ length: 10 }, (_, i) => JSON.stringify({ i, s: "é" })).join("\n"));
    const [split] = await expandInputs(file);
    const batches = [];
    for await (const b of readSplit(split, { batchRows: 4 })) batches.push(b);
    expect(batches.map((b) => [b.firstLine, b.rows.length])).toEqual([
      [1, 4],
      [5, 4],
      [9, 2],
    ]);
    expect(batches.reduce((s, b) => s + b.bytes, 0)).toBe(split.size);
  });
});

describe("byte-range splits", () => {
  it("cover every line exactly once for many split sizes and random line lengths", async () => {
    const random = rng(42);
    for (let trial = 0; trial < 8; trial++) {
      const lines: string[] = [];
      const count = 20 + Math.floor(random() * 60);
      for (let i = 0; i < count; i++) {
        const pad = "é".repeat(Math.floor(random() ** 3 * 60));
        lines.push(random() < 0.05 ? "" : JSON.stringify({ i, pad }));
      }
      const trailingNewline = trial % 2 === 0;
      const body = lines.join("\n") + (trailingNewline ? "\n" : "");
      const file = path.join(dir, `prop-${trial}.jsonl`);
      await fsp.writeFile(file, body);
      const size = Buffer.byteLength(body);
      const expected = lines.filter((l) => l !== "").map((l) => JSON.parse(l));
      for (const splitBytes of [11, 29, 50, 97, 256, 1000, size - 1, size]) {
        const splits = await expandInputs(file, { splitBytes });
        const got: unknown[] = [];
        for (const s of splits) got.push(...(await readAll(s)));
        expect(got, `trial ${trial}, splitBytes ${splitBytes}`).toEqual(expected);
      }
    }
  });

  it("cover every line exactly once in a file larger than the read and decode chunks", async () => {
    const random = rng(7);
    const lines = Array.from({ length: 6000 }, (_, i) => JSON.stringify({ i, s: "ü日".repeat(Math.floor(random() * 300)) }));
    lines[100] = JSON.stringify({ long: "x".repeat(300_000) }); // a line longer than a decode piece
    const file = path.join(dir, "large.jsonl");
    await fsp.writeFile(file, lines.join("\n"));
    const expected = lines.map((l) => JSON.parse(l));
    for (const splitBytes of [150_001, 1 << 20, 64 << 20]) {
      const got: unknown[] = [];
      for (const split of await expandInputs(file, { splitBytes })) got.push(...(await readAll(split)));
      expect(got.length, `splitBytes ${splitBytes}`).toBe(expected.length);
      expect(got, `splitBytes ${splitBytes}`).toEqual(expected);
    }
  });

  it("handle boundaries exactly on, before and after newlines", async () => {
    const lines = ["{\"a\":1}", "{\"a\":22}", "{\"a\":333}", "{\"a\":4444}"];
    const body = lines.join("\n") + "\n";
    const file = path.join(dir, "edges.jsonl");
    await fsp.writeFile(file, body);
    const size = body.length;
    const newlines = [...body].flatMap((c, i) => (c === "\n" ? [i] : []));
    for (const nl of newlines) {
      for (const cut of [nl - 1, nl, nl + 1].filter((c) => c > 0 && c < size)) {
        const parts: InputSplit[] = [
          { path: file, format: "jsonl", size, start: 0, end: cut },
          { path: file, format: "jsonl", size, start: cut, end: size },
        ];
        const got: unknown[] = [];
        for (const s of parts) got.push(...(await readAll(s)));
        expect(got, `cut at ${cut}`).toEqual(lines.map((l) => JSON.parse(l)));
      }
    }
  });
});

describe("malformed input", () => {
  const good = (i: number) => JSON.stringify({ i });
  const lines = [good(1), good(2), "{\"i\": 3,,}", good(4), "not json", good(6)];

  it("names the file and 1-based line", async () => {
    const file = path.join(dir, "bad.jsonl");
    await fsp.writeFile(file, lines.join("\n") + "\n");
    const [split] = await expandInputs(file);
    const err = await readAll(split).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedRecordError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/line 3 \(byte 16\)/);
  });

  it("names the exact byte offset inside a byte-range split", async () => {
    const file = path.join(dir, "bad-ranged.jsonl");
    const body = lines.join("\n") + "\n";
    await fsp.writeFile(file, body);
    const offset = body.indexOf("not json");
    const split: InputSplit = { path: file, format: "jsonl", size: body.length, start: 20, end: body.length };
    await expect(readAll(split)).rejects.toThrow(`line starting at byte ${offset} (line 2 of the byte range [20, ${body.length}))`);
  });

  it("names the exact line and byte of a bad line that follows a line across a read chunk edge", async () => {
    // Local files stream in 1 MiB chunks: line k crosses the first edge, line k + 1 is malformed, and
    // the lines after it in that chunk are read where they lie (not copied with the carried line).
    const rows = Array.from({ length: 12_000 }, (_, i) => JSON.stringify({ i, pad: "p".repeat(90 + (i % 17)) }));
    let offset = 0;
    let k = 0;
    while (offset + rows[k].length + 1 <= 1 << 20) offset += rows[k++].length + 1;
    rows[k + 1] = "{\"i\": broken";
    const file = path.join(dir, "bad-after-edge.jsonl");
    await fsp.writeFile(file, rows.join("\n") + "\n");
    const badOffset = offset + rows[k].length + 1;
    const [split] = await expandInputs(file);
    await expect(readAll(split)).rejects.toThrow(`line ${k + 2} (byte ${badOffset})`);
    rows[k + 1] = JSON.stringify({ i: k + 1 });
    await fsp.writeFile(file, rows.join("\n") + "\n");
    expect(await readAll((await expandInputs(file))[0])).toEqual(rows.map((l) => JSON.parse(l)));
  });

  it("names the file and line in compressed files", async () => {
    const file = path.join(dir, "bad.jsonl.zst");
    await fsp.writeFile(file, zstdCompress(Buffer.from(lines.join("\n"))));
    const [split] = await expandInputs(file);
    await expect(readAll(split)).rejects.toThrow(new RegExp(`${file}: line 3 `));
  });

  it("sends malformed lines to the reject sink and keeps the rest", async () => {
    const file = path.join(dir, "bad2.jsonl");
    await fsp.writeFile(file, lines.join("\r\n"));
    const rejected: RejectedLine[] = [];
    const [split] = await expandInputs(file);
    let counted = 0;
    const rows: unknown[] = [];
    for await (const b of readSplit(split, { rejects: { reject: (r) => void rejected.push(r) } })) {
      rows.push(...b.rows);
      counted += b.rejected;
    }
    expect(rows).toEqual([{ i: 1 }, { i: 2 }, { i: 4 }, { i: 6 }]);
    expect(counted).toBe(2);
    expect(rejected.map((r) => [r.path, r.line, r.raw])).toEqual([
      [file, 3, "{\"i\": 3,,}"],
      [file, 5, "not json"],
    ]);
  });
});

describe("zstd contexts and blocks taken again", () => {
  // Each file decompresses to about 2.5 MB: several 1 MiB blocks, several calls into its context.
  const rowsOf = (tag: string) => Array.from({ length: 20_000 }, (_, i) => ({ tag, i, text: `${tag} ${i} `.repeat(1 + (i % 11)) }));
  async function zstFile(name: string, rows: unknown[]): Promise<InputSplit> {
    const file = path.join(dir, name);
    await fsp.writeFile(file, zstdCompress(Buffer.from(rows.map((r) => JSON.stringify(r)).join("\n"))));
    return (await expandInputs(file))[0];
  }

  it("two files read turn about on one thread each come back whole", async () => {
    const a = rowsOf("a");
    const b = rowsOf("b");
    const readers = [readSplit(await zstFile("turn-a.jsonl.zst", a))[Symbol.asyncIterator](), readSplit(await zstFile("turn-b.jsonl.zst", b))[Symbol.asyncIterator]()];
    const got: unknown[][] = [[], []];
    for (let live = 2; live > 0; ) {
      live = 0;
      for (const [k, reader] of readers.entries()) {
        const next = await reader.next();
        if (next.done) continue;
        live++;
        got[k].push(...next.value.rows);
      }
    }
    expect(got[0]).toEqual(a);
    expect(got[1]).toEqual(b);
  });

  it("a file read after a damaged one, and after one left unfinished, comes back whole", async () => {
    const rows = rowsOf("c");
    const full = Buffer.from(zstdCompress(Buffer.from(rows.map((r) => JSON.stringify(r)).join("\n"))));
    const damaged = path.join(dir, "taken-damaged.jsonl.zst");
    await fsp.writeFile(damaged, Buffer.concat([full.subarray(0, 4000), Buffer.alloc(200, 0x55), full.subarray(4200)]));
    await expect(readAll((await expandInputs(damaged))[0])).rejects.toThrow(damaged);
    const cut = path.join(dir, "taken-cut.jsonl.zst");
    await fsp.writeFile(cut, full.subarray(0, full.length >> 1));
    await expect(readAll((await expandInputs(cut))[0])).rejects.toThrow(CorruptFileError);
    for await (const batch of readSplit(await zstFile("taken-left.jsonl.zst", rowsOf("d")))) {
      expect(batch.rows.length).toBeGreaterThan(0);
      break;
    }
    expect(await readAll(await zstFile("taken-whole.jsonl.zst", rows))).toEqual(rows);
  });
});

describe("corrupt compressed files", () => {
  const body = Buffer.from(Array.from({ length: 2000 }, (_, i) => JSON.stringify({ i, t: "x".repeat(i % 50) })).join("\n"));

  it("a truncated .zst fails naming the file", async () => {
    const file = path.join(dir, "cut.jsonl.zst");
    const full = zstdCompress(body);
    await fsp.writeFile(file, full.subarray(0, full.length - 100));
    const [split] = await expandInputs(file);
    const err = await readAll(split).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as Error).message).toContain(file);
  });

  it("a damaged .zst fails naming the file", async () => {
    const file = path.join(dir, "garbage.jsonl.zst");
    const full = Buffer.from(zstdCompress(body));
    full.fill(0x55, 10, 60);
    await fsp.writeFile(file, full);
    const [split] = await expandInputs(file);
    await expect(readAll(split)).rejects.toThrow(file);
  });

  it("a truncated .gz fails naming the file", async () => {
    const file = path.join(dir, "cut.jsonl.gz");
    const full = gzipSync(body);
    await fsp.writeFile(file, full.subarray(0, full.length - 50));
    const [split] = await expandInputs(file);
    const err = await readAll(split).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as Error).message).toContain(file);
  });

  it.each([
    ["zst", (b: Buffer) => Buffer.from(zstdCompress(b))],
    ["gz", (b: Buffer) => gzipSync(b)],
  ])("reads every line of concatenated .%s frames whose text crosses the reader's 1 MiB blocks", async (ext, compress) => {
    // Two frames (as `cat a.zst b.zst` or `cat a.gz b.gz` makes) of about 1.6 MB each: lines span block and frame edges.
    const frame = (from: number) => Array.from({ length: 9000 }, (_, i) => JSON.stringify({ i: from + i, t: "é".repeat((i * 37) % 160) + "x".repeat(i % 7) })).join("\n") + "\n";
    const texts = [frame(0), frame(9000)];
    const file = path.join(dir, `frames.jsonl.${ext}`);
    await fsp.writeFile(file, Buffer.concat(texts.map((t) => compress(Buffer.from(t)))));
    const [split] = await expandInputs(file);
    const rows = await readAll(split);
    expect(rows).toEqual(texts.join("").trimEnd().split("\n").map((l) => JSON.parse(l)));
  });

  it("an empty .zst file holds no rows", async () => {
    const file = path.join(dir, "empty.jsonl.zst");
    await fsp.writeFile(file, Buffer.alloc(0));
    const [split] = await expandInputs(file);
    expect(await readAll(split)).toEqual([]);
  });

  it("reads a large zst file fully", async () => {
    const file = path.join(dir, "ok.jsonl.zst");
    await fsp.writeFile(file, zstdCompress(body));
    const [split] = await expandInputs(file);
    const rows = await readAll(split);
    expect(multiset(rows)).toEqual(multiset(body.toString().split("\n").map((l) => JSON.parse(l))));
  });
});
