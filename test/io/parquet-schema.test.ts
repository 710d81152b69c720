/**
 * Parquet files written with an explicit schema: every type round-trips (structs, lists and nulls at
 * every depth), a file with zero rows keeps its columns, rows that break the schema fail naming the
 * field, file schemas can be read back and compared, and files kiln wrote before schemas existed
 * (JSON text columns, written here by DuckDB with the same metadata) still read as before.
 */
import { describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import {
  BadSchemaError,
  checkSchemasAgree,
  expandInputs,
  inferParquetSchema,
  openWriter,
  readParquetSchema,
  readSplit,
  SchemaMismatchError,
  UnwritableRowError,
  type ParquetSchema,
} from "../../src/io/formats.ts";
import { duckdbColumnTypes, readAll, suiteDir, suiteDuckDB } from "./helpers.ts";

const tmp = suiteDir("parquet-schema");
const duck = suiteDuckDB();

const everyType: ParquetSchema = {
  id: "string",
  n: "int64",
  score: "float64",
  keep: "bool",
  extra: "json",
  attributes: { struct: { dup_cluster_id: "string", quality_score: "float64", is_cluster_canonical: "bool", size: "int64", detail: "json" } },
  tags: { list: "string" },
  spans: { list: { list: "int64" } },
  hits: { list: { struct: { at: "int64", label: "string" } } },
  outer: { struct: { inner: { struct: { depth: "int64", names: { list: "string" } } } } },
};

/** Rows covering values, nulls and absent fields at every level; `expected` is what a reader returns. */
function everyTypeRows(n: number): { rows: Record<string, unknown>[]; expected: Record<string, unknown>[] } {
  const rows: Record<string, unknown>[] = [];
  const expected: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const full = {
      id: `doc-${i} ✓`,
      n: i === 3 ? 2n ** 60n : i * 1000 - 7,
      score: i / 3,
      keep: i % 2 === 0,
      extra: i % 4 === 0 ? { any: [1, "two", { three: null }] } : i % 4 === 1 ? "text" : i % 4 === 2 ? [i] : 7.5,
      attributes: {
        dup_cluster_id: i % 5 === 0 ? null : `c-${i % 7}`,
        quality_score: i * 0.25,
        is_cluster_canonical: i % 3 === 0,
        size: 2 ** 40 + i,
        detail: { i },
      },
      tags: i % 6 === 0 ? [] : ["a", null, `t${i}`],
      spans: [[i, i + 1], [], null],
      hits: [{ at: i, label: null }, null],
      outer: { inner: { depth: i, names: i % 2 ? ["x"] : null } },
    };
    if (i % 10 === 7) {
      // Nulls and absent fields everywhere.
      rows.push({ id: null, attributes: { quality_score: 1.5 }, outer: { inner: null } });
      expected.push({
        id: null,
        n: null,
        score: null,
        keep: null,
        extra: null,
        attributes: { dup_cluster_id: null, quality_score: 1.5, is_cluster_canonical: null, size: null, detail: null },
        tags: null,
        spans: null,
        hits: null,
        outer: { inner: null },
      });
    } else {
      rows.push(full);
      expected.push(full);
    }
  }
  return { rows, expected };
}

async function write(name: string, rows: unknown[], schema?: ParquetSchema, rowGroupRows?: number): Promise<string> {
  const file = path.join(tmp.path, name);
  const w = openWriter(file, "parquet", { schema, rowGroupRows });
  await w.write(rows);
  expect((await w.close()).rows).toBe(rows.length);
  return file;
}

describe("parquet with an explicit schema", () => {
  it("round-trips every type, structs and lists with nulls at every depth, across row groups", async () => {
    const { rows, expected } = everyTypeRows(60);
    const file = await write("every.parquet", rows, everyType, 25);
    const [split] = await expandInputs(file);
    expect(await readAll(split)).toEqual(expected);
    expect(await readParquetSchema(file)).toEqual(everyType);
    // Column order is the schema's key order.
    expect(Object.keys((await readAll(split))[0] as object)).toEqual(Object.keys(everyType));
    // A struct column read alone.
    expect((await readAll(split, { columns: ["attributes"] }))[1]).toEqual({ attributes: expected[1].attributes });
  });

  it("a file written from zero rows carries every column", async () => {
    const file = await write("empty-typed.parquet", [], everyType);
    const [split] = await expandInputs(file);
    expect(await readAll(split, { columns: ["id", "attributes"] })).toEqual([]);
    expect(await readParquetSchema(file)).toEqual(everyType);
    expect(Object.keys(await duckdbColumnTypes(duck.db, `read_parquet('${file}')`))).toEqual(Object.keys(everyType));
    await expect(readAll(split, { columns: ["nope"] })).rejects.toThrow(/no column 'nope'/);
  });

  it("DuckDB reads a folder of parts, one of them empty, with one glob and sees typed struct fields", async () => {
    const schema: ParquetSchema = {
      id: "string",
      text: "string",
      attributes: { struct: { dup_cluster_id: "string", quality_score: "float64", is_cluster_canonical: "bool" } },
      tags: { list: "string" },
    };
    const parts = path.join(tmp.path, "parts");
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: `d${String(i).padStart(4, "0")}`,
      text: `text ${i}`,
      attributes: { dup_cluster_id: i % 9 === 0 ? null : `c${i % 11}`, quality_score: i / 7, is_cluster_canonical: i % 2 === 0 },
      tags: i % 3 ? [`k${i % 3}`] : [],
    }));
    const first = await write("parts/part-00000-of-00003.parquet", rows.slice(0, 200), schema, 64);
    await write("parts/part-00002-of-00003.parquet", rows.slice(200), schema);
    // The empty part reuses its sibling's schema.
    await write("parts/part-00001-of-00003.parquet", [], await readParquetSchema(first));

    expect(await duckdbColumnTypes(duck.db, `read_parquet('${parts}/*.parquet')`)).toEqual({
      id: "VARCHAR",
      text: "VARCHAR",
      attributes: "STRUCT(dup_cluster_id VARCHAR, quality_score DOUBLE, is_cluster_canonical BOOLEAN)",
      tags: "VARCHAR[]",
    });
    const got = await duck.db.runAndReadAll(
      `SELECT id, attributes.dup_cluster_id AS c, attributes.quality_score AS q, attributes.is_cluster_canonical AS k, len(tags) AS t
       FROM read_parquet('${parts}/*.parquet') ORDER BY id`,
    );
    expect(got.getRowObjectsJS().map((r) => ({ ...r, t: Number(r.t) }))).toEqual(
      rows.map((r) => ({ id: r.id, c: r.attributes.dup_cluster_id, q: r.attributes.quality_score, k: r.attributes.is_cluster_canonical, t: r.tags.length })),
    );
    const filtered = await duck.db.runAndReadAll(`SELECT count(*) FROM read_parquet('${parts}/*.parquet') WHERE attributes.quality_score > 40`);
    expect(Number(filtered.getRows()[0][0])).toBe(rows.filter((r) => r.attributes.quality_score > 40).length);

    // kiln reads the same glob back, schemas agreeing.
    const splits = await expandInputs(`${parts}/*.parquet`);
    await checkSchemasAgree(splits);
    const back: unknown[] = [];
    for (const split of splits) back.push(...(await readAll(split)));
    expect(back).toEqual(rows);
  });

  it("a row that breaks the schema fails naming the file, row, field path and both types", async () => {
    const schema: ParquetSchema = { id: "string", n: "int64", attributes: { struct: { quality_score: "float64" } }, tags: { list: "string" } };
    const file = path.join(tmp.path, "bad.parquet");
    const cases: [unknown, RegExp][] = [
      [{ id: "a", attributes: { quality_score: "high" } }, /row 1, field 'attributes\.quality_score': expected float64, found string "high"/],
      [{ id: "a", tags: ["x", "y", 3] }, /row 1, field 'tags\[2\]': expected string, found number 3/],
      [{ id: "a", n: 1.5 }, /row 1, field 'n': expected int64, found number 1\.5/],
      [{ id: "a", n: 2 ** 60 }, /field 'n': expected int64, .*pass a bigint/],
      [{ id: "a", attributes: [1] }, /field 'attributes': expected struct<quality_score: float64>, found array/],
      [{ id: "a", lang: "en" }, /row 1, field 'lang' is not in the schema \(the file's schema has id, n, attributes, tags\): add it to the schema or drop the field/],
      [{ id: "a", attributes: { quality_score: 1, seen: true } }, /field 'attributes\.seen' is not in the schema \(struct 'attributes' has quality_score\)/],
      [{ id: "a", attributes: { quality_score: Infinity } }, /field 'attributes\.quality_score': Infinity cannot be stored/],
      [["a"], /row 1 is an array, not an object/],
    ];
    for (const [row, message] of cases) {
      const w = openWriter(file, "parquet", { schema });
      await w.write([{ id: "ok", n: 5n, attributes: null, tags: null }]);
      const err = await w.write([row]).catch((e: unknown) => e);
      expect(err, JSON.stringify(message.source)).toBeInstanceOf(UnwritableRowError);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toMatch(message);
      await w.abort();
    }
    await expect(fsp.access(file)).rejects.toThrow();
  });

  it("refuses schemas parquet cannot hold", () => {
    const file = path.join(tmp.path, "never.parquet");
    const bad: unknown[] = [{}, { a: "text" }, { a: { struct: {} } }, { a: { list: "int32" } }, { a: { struct: { b: "string" }, list: "string" } }];
    for (const schema of bad) {
      expect(() => openWriter(file, "parquet", { schema: schema as ParquetSchema }), JSON.stringify(schema)).toThrow(BadSchemaError);
    }
  });

  it("checkSchemasAgree compares struct fields and skips column-less empty files", async () => {
    const a = await write("agree/a.parquet", [{ id: "1", attributes: { q: 1.5 } }], { id: "string", attributes: { struct: { q: "float64" } } });
    await write("agree/b.parquet", [], { id: "string", attributes: { struct: { q: "float64" } } });
    await write("agree/c.parquet", []); // no schema, no rows: no columns
    await checkSchemasAgree(await expandInputs(`${tmp.path}/agree/*.parquet`));
    const d = await write("agree/d.parquet", [{ id: "2", attributes: { q: "x" } }], { id: "string", attributes: { struct: { q: "string" } } });
    const err = await checkSchemasAgree(await expandInputs(`${tmp.path}/agree/*.parquet`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect((err as Error).message).toContain(`column 'attributes' is struct<q: float64> in ${a} but struct<q: string> in ${d}`);
  });
});

describe("parquet without a schema", () => {
  it("infers one (nested values as JSON text) and stores it in the file", async () => {
    const rows = [{ id: "a", n: 1, meta: { x: [1] } }, { id: "b", n: 2.5, flag: true }];
    expect(inferParquetSchema(rows)).toEqual({ id: "string", n: "float64", meta: "json", flag: "bool" });
    const file = await write("inferred.parquet", rows);
    expect(await readParquetSchema(file)).toEqual({ id: "string", n: "float64", meta: "json", flag: "bool" });
    const [split] = await expandInputs(file);
    expect(await readAll(split)).toEqual([
      { id: "a", n: 1, meta: { x: [1] }, flag: null },
      { id: "b", n: 2.5, meta: null, flag: true },
    ]);
  });

  it("reads files from before schemas were stored: JSON text columns listed in kiln.json_columns", async () => {
    const file = path.join(tmp.path, "older.parquet");
    await duck.db.run(
      `COPY (SELECT 'a' AS id, '{"x":[1,2]}' AS meta, 5::BIGINT AS n, {'k': 7::BIGINT, 's': 'v'} AS st
             UNION ALL SELECT 'b', NULL, NULL, NULL)
       TO '${file}' (FORMAT parquet, KV_METADATA {'kiln.json_columns': '["meta"]'})`,
    );
    const [split] = await expandInputs(file);
    expect(await readAll(split)).toEqual([
      { id: "a", meta: { x: [1, 2] }, n: 5, st: { k: 7, s: "v" } },
      { id: "b", meta: null, n: null, st: null },
    ]);
    expect(await readParquetSchema(file)).toEqual({ id: "string", meta: "json", n: "int64", st: { struct: { k: "int64", s: "string" } } });
    // A file of such a schema agrees with a kiln file written with it.
    const again = await write("older-again.parquet", [], await readParquetSchema(file));
    await checkSchemasAgree([split, ...(await expandInputs(again))]);
  });

  it("a column of a type kiln does not write is read but has no kiln schema", async () => {
    const file = path.join(tmp.path, "foreign.parquet");
    await duck.db.run(`COPY (SELECT 1::INTEGER AS small, 'x' AS s) TO '${file}' (FORMAT parquet)`);
    const [split] = await expandInputs(file);
    const batches = [];
    for await (const b of readSplit(split)) batches.push(b);
    expect(batches.flatMap((b) => b.rows)).toEqual([{ small: 1, s: "x" }]);
    await expect(readParquetSchema(file)).rejects.toThrow(/column 'small' is INT32.* no type for/);
  });

  it("a column or struct field named __proto__ fails naming it, instead of being lost", async () => {
    const top = path.join(tmp.path, "proto-top.parquet");
    const nested = path.join(tmp.path, "proto-nested.parquet");
    await duck.db.run(`COPY (SELECT 'x' AS s, 'p' AS "__proto__") TO '${top}' (FORMAT parquet)`);
    await duck.db.run(`COPY (SELECT 'x' AS s, {'a': 1, '__proto__': 'p'} AS meta) TO '${nested}' (FORMAT parquet)`);
    for (const [file, column] of [[top, "__proto__"], [nested, "meta.__proto__"]]) {
      const [split] = await expandInputs(file);
      const err = await readAll(split).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "KILN_UNSUPPORTED_COLUMN" });
      expect(String(err)).toContain(`${file}: column '${column}'`);
      await expect(readParquetSchema(file)).rejects.toThrow(/named __proto__/);
    }
    // A column that is not read does not fail the read.
    const [split] = await expandInputs(top);
    expect(await readAll(split, { columns: ["s"] })).toEqual([{ s: "x" }]);
  });

  it("a JSON value holding a key named __proto__ fails naming the file and the key's path", async () => {
    const file = path.join(tmp.path, "proto-json.parquet");
    await duck.db.run(`COPY (SELECT * FROM (VALUES (1, '{"a":1}'::JSON), (2, '{"a":[{"b":2},{"__proto__":{"z":1}}]}'::JSON)) t(n, doc)) TO '${file}' (FORMAT parquet)`);
    const [split] = await expandInputs(file);
    const err = await readAll(split).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "KILN_UNSUPPORTED_COLUMN" });
    expect(String(err)).toContain(`${file} (row group starting at row 0): a JSON value holds a key named __proto__ (at 'a[1].__proto__')`);
    expect(await readAll(split, { columns: ["n"] })).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
