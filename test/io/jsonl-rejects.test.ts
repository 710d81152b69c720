/**
 * Bad JSONL lines by policy: every reason code with its line, exact byte offset, message and raw
 * text; the error thrown without a sink (and its hint); lines too long to assemble, inside one read
 * and across many, at a byte-range boundary and at end of file; and the quarantine file.
 */
import { describe, expect, it, vi } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import {
  expandInputs,
  FormatError,
  MalformedRecordError,
  MAX_REJECTED_RAW_CHARS,
  QuarantineSink,
  readSplit,
  RejectCounter,
  type InputSplit,
  type ReadOptions,
  type RecordBatch,
  type RejectedLine,
} from "../../src/io/formats.ts";
import { WALK_FROM_CHARS } from "../../src/io/reserved-keys.ts";
import { everyCompression, readAll, suiteDir } from "./helpers.ts";

const tmp = suiteDir("jsonl-rejects");

async function file(name: string, content: string | Buffer): Promise<string> {
  const target = path.join(tmp.path, name);
  await fsp.writeFile(target, content);
  return target;
}

/** Reads every split with a collecting sink. */
async function readRejecting(splits: InputSplit[], opts: ReadOptions = {}) {
  const rejected: RejectedLine[] = [];
  const batches: RecordBatch[] = [];
  for (const split of splits) {
    for await (const b of readSplit(split, { ...opts, rejects: { reject: (r) => void rejected.push(r) } })) batches.push(b);
  }
  return { rows: batches.flatMap((b) => b.rows), rejected, batches };
}

const good = (i: number) => JSON.stringify({ i });

describe("reason codes", () => {
  it("malformed-json: line, byte offset, message and raw text", async () => {
    const lines = [good(1), "{\"i\": 2,,}", good(3), "not json at all", good(5)];
    const body = lines.join("\n") + "\n";
    const f = await file("malformed.jsonl", body);
    const { rows, rejected, batches } = await readRejecting(await expandInputs(f));
    expect(rows).toEqual([{ i: 1 }, { i: 3 }, { i: 5 }]);
    expect(batches.reduce((s, b) => s + b.rejected, 0)).toBe(2);
    expect(rejected.map(({ message, ...r }) => r)).toEqual([
      { path: f, line: 2, byteOffset: body.indexOf("{\"i\": 2"), reason: "malformed-json", raw: lines[1], rawBytes: lines[1].length },
      { path: f, line: 4, byteOffset: body.indexOf("not json"), reason: "malformed-json", raw: lines[3], rawBytes: lines[3].length },
    ]);
    expect(rejected[0].message).toMatch(/^not valid JSON \(.+\)$/);
    expect(rejected[0].message).not.toContain(f);
  });

  it("truncated-line: an unterminated last line that is not JSON, in plain, .zst and .gz files", async () => {
    const body = `${good(1)}\n${good(2)}\n{"i": 3, "text": "the wri`;
    for (const [name, bytes] of everyCompression("cut", body)) {
      const f = await file(name, bytes);
      const { rows, rejected } = await readRejecting(await expandInputs(f));
      expect(rows, name).toEqual([{ i: 1 }, { i: 2 }]);
      expect(rejected.map((r) => [r.reason, r.line, r.byteOffset, r.raw]), name).toEqual([["truncated-line", 3, body.lastIndexOf("{"), body.slice(body.lastIndexOf("{"))]]);
      expect(rejected[0].message).toMatch(/file ends inside this line.*cut short/);
    }
    // A bad line that ends with a newline is malformed, not truncated; a good unterminated one is a row.
    const f = await file("not-cut.jsonl", `{"i": 1,\n${good(2)}`);
    const { rows, rejected } = await readRejecting(await expandInputs(f));
    expect(rows).toEqual([{ i: 2 }]);
    expect(rejected.map((r) => r.reason)).toEqual(["malformed-json"]);
  });

  it("not-an-object: only when records must be objects", async () => {
    const lines = [good(1), "[1,2]", "42", "\"text\"", "null", "true", good(7)];
    const f = await file("values.jsonl", lines.join("\n"));
    const [split] = await expandInputs(f);
    expect(await readAll(split)).toEqual(lines.map((l) => JSON.parse(l)));
    const { rows, rejected } = await readRejecting([split], { requireObjects: true });
    expect(rows).toEqual([{ i: 1 }, { i: 7 }]);
    expect(rejected.map((r) => [r.reason, r.line, r.message])).toEqual([
      ["not-an-object", 2, "a record must be a JSON object, got an array"],
      ["not-an-object", 3, "a record must be a JSON object, got a number"],
      ["not-an-object", 4, "a record must be a JSON object, got a string"],
      ["not-an-object", 5, "a record must be a JSON object, got null"],
      ["not-an-object", 6, "a record must be a JSON object, got a boolean"],
    ]);
  });

  it("reserved-field: a key named __proto__ at any depth, spelled out or escaped, never a value", async () => {
    const lines = [
      good(1),
      '{"i":2,"__proto__":{"x":1}}',
      '{"i":3,"meta":{"tags":[{"a":1},{"__proto__":null}]}}',
      '{"i":4,"m":{"\\u005f_proto__":1}}',
      '{"i":5,"name":"__proto__","list":["__proto__"],"code":"o.\\"__proto__\\" = p","p":"\\u0070"}',
      '{"i":6,"__proto_":1,"proto":2}',
      `{"i":7,"deep":${"[".repeat(20_000)}{"__proto__":1}${"]".repeat(20_000)}}`,
    ];
    const f = await file("reserved.jsonl", lines.join("\n"));
    const { rows, rejected } = await readRejecting(await expandInputs(f));
    expect(rows).toEqual([{ i: 1 }, { i: 5, name: "__proto__", list: ["__proto__"], code: 'o."__proto__" = p', p: "p" }, { i: 6, __proto_: 1, proto: 2 }]);
    expect(rejected.map((r) => [r.reason, r.line, r.message?.slice(0, r.message.indexOf(":"))])).toEqual([
      ["reserved-field", 2, "field '__proto__'"],
      ["reserved-field", 3, "field 'meta.tags[1].__proto__'"],
      ["reserved-field", 4, "field 'm.__proto__'"],
      ["reserved-field", 7, `field 'deep${"[0]".repeat(20_000)}.__proto__'`],
    ]);
    expect(rejected[0].message).toMatch(/rename the field/);
    // A file whose only reserved key is written with escapes: the scan must find the escaped spelling.
    const escaped = await file("reserved-escaped.jsonl", [good(1), '{"i":2,"m":{"__pro\\u0074o__":1}}', good(3)].join("\n"));
    const second = await readRejecting(await expandInputs(escaped));
    expect(second.rows).toEqual([{ i: 1 }, { i: 3 }]);
    expect(second.rejected.map((r) => [r.reason, r.line])).toEqual([["reserved-field", 2]]);
    const e = await readAll((await expandInputs(f))[0]).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MalformedRecordError);
    expect((e as MalformedRecordError).message).toMatch(/reserved\.jsonl: line 2 .*field '__proto__'/);
  });

  it("reserved-field on long lines, whose parsed values are walked instead of their text scanned", async () => {
    const long = "x".repeat(WALK_FROM_CHARS);
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    const lines = [
      JSON.stringify({ i: 1, text: long }),
      `{"i":2,"text":"${long}","__proto__":1}`,
      `{"i":3,"text":"${long}","meta":[{"a":[1,{"\\u005f_proto__":{}}]}]}`,
      JSON.stringify({ i: 4, text: `${long} "__proto__" \\u0070`, name: "__proto__", list: ["__proto__"] }),
      // More values than the walk looks at for its length: the text is scanned, then walked to the key.
      `{"i":5,"text":"${long}",${JSON.stringify(wide).slice(1, -1)},"deep":{"__proto__":null}}`,
      JSON.stringify({ i: 6, text: long, ...wide }),
    ];
    const f = await file("reserved-long.jsonl", lines.join("\n"));
    const { rows, rejected } = await readRejecting(await expandInputs(f));
    expect(rows.map((r) => (r as { i: number }).i)).toEqual([1, 4, 6]);
    expect(rows[1]).toMatchObject({ name: "__proto__", list: ["__proto__"] });
    expect(rejected.map((r) => [r.reason, r.line, r.message?.slice(0, r.message.indexOf(":"))])).toEqual([
      ["reserved-field", 2, "field '__proto__'"],
      ["reserved-field", 3, "field 'meta[0].a[1].__proto__'"],
      ["reserved-field", 5, "field 'deep.__proto__'"],
    ]);
  });

  it("without a sink, the first bad line throws with its reason and a hint naming onBadRecord", async () => {
    const f = await file("throws.jsonl", `${good(1)}\n[1]\n{bad\n`);
    const [split] = await expandInputs(f);
    const err = await readAll(split, { requireObjects: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedRecordError);
    const e = err as MalformedRecordError;
    expect(e.reason).toBe("not-an-object");
    expect(e.code).toBe("KILN_MALFORMED_RECORD");
    expect(e.message).toBe(`${f}: line 2 (byte 8): a record must be a JSON object, got an array`);
    expect(e.hint).toContain('Dataset.read(patterns, { onBadRecord: "skip" })');
    expect(e.hint).toContain('"quarantine"');
    const plain = await readAll(split).catch((x: unknown) => x);
    expect((plain as MalformedRecordError).reason).toBe("malformed-json");
    expect((plain as Error).message).toMatch(/line 3 \(byte 12\): not valid JSON/);
  });

  it("keeps at most MAX_REJECTED_RAW_CHARS of a rejected line, with its full length", async () => {
    const long = `{"t": "${"é".repeat(10_000)}"`; // not closed
    const f = await file("long-bad.jsonl", `${long}\n${good(2)}\n`);
    const { rows, rejected } = await readRejecting(await expandInputs(f));
    expect(rows).toEqual([{ i: 2 }]);
    expect(rejected[0].raw).toBe(long.slice(0, MAX_REJECTED_RAW_CHARS));
    expect(rejected[0].rawBytes).toBe(Buffer.byteLength(long));
  });

  it("rejected lines alone fill batches, and batch bytes still add up to the file", async () => {
    const body = Array.from({ length: 10 }, (_, i) => `bad ${i}`).join("\r\n") + "\r\n";
    const f = await file("all-bad.jsonl", body);
    const { batches } = await readRejecting(await expandInputs(f), { batchRows: 4 });
    expect(batches.map((b) => [b.rows.length, b.rejected, b.firstLine])).toEqual([
      [0, 4, 1],
      [0, 4, 5],
      [0, 2, 9],
    ]);
    expect(batches.reduce((s, b) => s + b.bytes, 0)).toBe(body.length);
  });
});

describe("line-too-long", () => {
  const max = 100_000;
  /** Lines around two overlong ones: one inside a read, one far longer than a read chunk. */
  const lines = [good(0), JSON.stringify({ t: "x".repeat(150_000) }), good(2), `{"t": "${"y".repeat(3_000_000)}"}`, good(4)];
  const body = lines.join("\n") + "\n";

  it("drops lines over the limit without assembling them, naming line, offset and length", async () => {
    const f = await file("overlong.jsonl", body);
    // Nothing near the 3 MB line's size is ever put together (reads come in chunks of up to 1 MiB).
    let largest = 0;
    const concat = Buffer.concat;
    const spy = vi.spyOn(Buffer, "concat").mockImplementation((list, total) => {
      const joined = concat(list, total);
      largest = Math.max(largest, joined.length);
      return joined;
    });
    const { rows, rejected, batches } = await readRejecting(await expandInputs(f), { maxLineBytes: max }).finally(() => spy.mockRestore());
    expect(largest).toBeLessThan(max + (1 << 20) + 1);
    expect(rows).toEqual([{ i: 0 }, { i: 2 }, { i: 4 }]);
    expect(rejected.map((r) => [r.reason, r.line, r.byteOffset, r.rawBytes])).toEqual([
      ["line-too-long", 2, body.indexOf("{\"t\":\"x"), lines[1].length],
      ["line-too-long", 4, body.indexOf("{\"t\": \"y"), lines[3].length],
    ]);
    expect(rejected[1].raw).toBe(lines[3].slice(0, MAX_REJECTED_RAW_CHARS));
    expect(rejected[1].message).toContain(`over the limit of ${max} bytes`);
    expect(batches.reduce((s, b) => s + b.bytes, 0)).toBe(body.length);
    const err = await readAll((await expandInputs(f))[0], { maxLineBytes: max }).catch((e: unknown) => e);
    expect((err as MalformedRecordError).reason).toBe("line-too-long");
  });

  it("a line over the limit inside one read is rejected too, counted in bytes, not characters", async () => {
    const inside = [good(0), JSON.stringify({ t: "é".repeat(600) }), JSON.stringify({ t: "e".repeat(600) }), good(3)];
    const f = await file("overlong-small.jsonl", inside.join("\n"));
    const { rows, rejected } = await readRejecting(await expandInputs(f), { maxLineBytes: 1000 });
    expect(rows).toEqual([{ i: 0 }, JSON.parse(inside[2]), { i: 3 }]);
    expect(rejected.map((r) => [r.reason, r.line, r.byteOffset, r.rawBytes])).toEqual([["line-too-long", 2, good(0).length + 1, Buffer.byteLength(inside[1])]]);
  });

  it("is owned by exactly one byte-range split, whatever the cut", async () => {
    const f = await file("overlong-ranged.jsonl", body);
    for (const splitBytes of [50_000, 700_000, 1_000_000, 1_600_000]) {
      const splits = await expandInputs(f, { splitBytes });
      const { rows, rejected } = await readRejecting(splits, { maxLineBytes: max });
      expect(rows, `splitBytes ${splitBytes}`).toEqual([{ i: 0 }, { i: 2 }, { i: 4 }]);
      expect(rejected.map((r) => r.byteOffset), `splitBytes ${splitBytes}`).toEqual([body.indexOf("{\"t\":\"x"), body.indexOf("{\"t\": \"y")]);
    }
  });

  it("at end of file without a newline, and in compressed files", async () => {
    const tail = `${good(1)}\n${"z".repeat(250_000)}`;
    for (const [name, bytes] of everyCompression("overlong-end", tail)) {
      const f = await file(name, bytes);
      const { rows, rejected, batches } = await readRejecting(await expandInputs(f), { maxLineBytes: max });
      expect(rows, name).toEqual([{ i: 1 }]);
      expect(rejected.map((r) => [r.reason, r.line, r.byteOffset, r.rawBytes]), name).toEqual([["line-too-long", 2, good(1).length + 1, 250_000]]);
      expect(batches.reduce((s, b) => s + b.bytes, 0), name).toBe(tail.length);
    }
  });
});

describe("RejectCounter", () => {
  it("counts every reason and keeps nothing", async () => {
    const body = [good(1), "{oops", "[1]", "x".repeat(300), "also bad", good(6), "{\"cut"].join("\n");
    const f = await file("to-count.jsonl", body);
    const counter = new RejectCounter();
    const rows: unknown[] = [];
    for (const split of await expandInputs(f)) {
      for await (const b of readSplit(split, { rejects: counter, requireObjects: true, maxLineBytes: 200 })) rows.push(...b.rows);
    }
    expect(rows).toEqual([{ i: 1 }, { i: 6 }]);
    expect(counter.byReason()).toEqual({ "malformed-json": 2, "truncated-line": 1, "line-too-long": 1, "not-an-object": 1, "reserved-field": 0 });
    expect(counter.total).toBe(5);
  });
});

describe("QuarantineSink", () => {
  const body = [good(1), "{oops", good(3), "[3]", `{"cut": "tr`].join("\n");

  it("writes rejected lines as JSON lines on close only, and counts them by reason", async () => {
    const f = await file("to-quarantine.jsonl", body);
    for (const name of ["rejects.jsonl", "rejects.jsonl.zst"]) {
      const target = path.join(tmp.path, "q", name);
      const sink = new QuarantineSink(target);
      const rows: unknown[] = [];
      for (const split of await expandInputs(f)) for await (const b of readSplit(split, { rejects: sink, requireObjects: true })) rows.push(...b.rows);
      expect(rows).toEqual([{ i: 1 }, { i: 3 }]);
      expect(sink.total).toBe(3);
      await expect(fsp.access(target)).rejects.toThrow();
      const result = await sink.close();
      expect(result.rows).toBe(3);
      expect(result.bytes).toBe((await fsp.stat(target)).size);
      expect(result.byReason).toEqual({ "malformed-json": 1, "truncated-line": 1, "line-too-long": 0, "not-an-object": 1, "reserved-field": 0 });
      const [written] = await expandInputs(target);
      const quarantined = await readAll(written);
      expect(quarantined.map((q) => ({ ...(q as object), message: undefined }))).toEqual([
        { file: f, line: 2, byteOffset: body.indexOf("{oops"), reason: "malformed-json", message: undefined, raw: "{oops", rawBytes: 5 },
        { file: f, line: 4, byteOffset: body.indexOf("[3]"), reason: "not-an-object", message: undefined, raw: "[3]", rawBytes: 3 },
        { file: f, line: 5, byteOffset: body.indexOf("{\"cut"), reason: "truncated-line", message: undefined, raw: "{\"cut\": \"tr", rawBytes: 11 },
      ]);
      expect((quarantined[1] as { message: string }).message).toBe("a record must be a JSON object, got an array");
    }
  });

  it("writes an empty file when nothing was rejected, nothing when aborted, and refuses other formats", async () => {
    const empty = new QuarantineSink(path.join(tmp.path, "q2", "none.jsonl"));
    expect((await empty.close()).rows).toBe(0);
    expect(await fsp.readFile(path.join(tmp.path, "q2", "none.jsonl"), "utf8")).toBe("");
    const aborted = new QuarantineSink(path.join(tmp.path, "q3", "gone.jsonl"));
    await aborted.reject({ path: "x", line: 1, byteOffset: 0, reason: "malformed-json", message: "m", raw: "r", rawBytes: 1 });
    await aborted.abort();
    expect(await fsp.readdir(path.join(tmp.path, "q3"))).toEqual([]);
    const refused = (() => {
      try {
        return new QuarantineSink(path.join(tmp.path, "q4", "bad.parquet"));
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(FormatError);
    expect((refused as FormatError).hint).toMatch(/\.jsonl or \.jsonl\.zst/);
  });
});
