/**
 * Type tests for Dataset: the row type flows through map (closures and fn references), a
 * type-guard filter narrows, select keeps only the named keys, and terminals carry their result.
 */
import { describe, expectTypeOf, test } from "vitest";
import { Dataset, executeDataset, fn } from "../../src/index.ts";
import type { Terminal } from "../../src/index.ts";
import { double, isEven, minFilter, sumCombine, sumFold } from "./fixtures/user-fns.ts";
import type { Num } from "./fixtures/user-fns.ts";

const base = Dataset.fromItems<Num>([{ n: 1, word: "a" }]);

describe("Dataset row types", () => {
  test("map infers its output type, from closures and from fn references", () => {
    expectTypeOf(base.map((r) => r.word.length)).toEqualTypeOf<Dataset<number>>();
    expectTypeOf(base.map(fn(import.meta.url, double))).toEqualTypeOf<Dataset<Num & { doubled: number }>>();
    // @ts-expect-error the row has no field `missing`
    base.map((r) => r.missing);
  });

  test("a type-guard filter narrows, a boolean filter keeps the type", () => {
    type Row = { kind: "a"; a: number } | { kind: "b"; b: string };
    const mixed = Dataset.fromItems<Row>([]);
    const onlyA = mixed.filter((r): r is Extract<Row, { kind: "a" }> => r.kind === "a");
    expectTypeOf(onlyA).toEqualTypeOf<Dataset<{ kind: "a"; a: number }>>();
    expectTypeOf(mixed.filter((r): boolean => r.kind === "b")).toEqualTypeOf<Dataset<Row>>();
    expectTypeOf(base.filter(fn(import.meta.url, isEven))).toEqualTypeOf<Dataset<Num & { n: number }>>();
    expectTypeOf(base.filter(fn(import.meta.url, minFilter, { min: 2 }))).toEqualTypeOf<Dataset<Num>>();
  });

  test("select narrows to the named keys and rejects unknown ones", () => {
    expectTypeOf(base.select("word")).toEqualTypeOf<Dataset<Pick<Num, "word">>>();
    // @ts-expect-error `nope` is not a field of the row
    base.select("nope");
  });

  test("window, terminals and execution results carry types", () => {
    expectTypeOf(base.window(3)).toEqualTypeOf<Dataset<Num[]>>();
    expectTypeOf(base.count()).toEqualTypeOf<Terminal<{ value: number }>>();
    expectTypeOf(base.reduce(0, fn(import.meta.url, sumFold), fn(import.meta.url, sumCombine))).toEqualTypeOf<Terminal<{ value: number }>>();
    expectTypeOf(executeDataset(base.map((r) => r.n))).resolves.toHaveProperty("rows").toEqualTypeOf<number[]>();
    expectTypeOf(executeDataset(base.write("out-{shard}.jsonl"))).resolves.toHaveProperty("outputs").toEqualTypeOf<string[]>();
    // @ts-expect-error a fold must return the accumulator type
    base.reduce(0, (acc: number, r: Num) => r.word, (a: number, b: number) => a + b);
  });
});
