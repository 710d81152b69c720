import { describe, expect, it } from "vitest";
import { xxh3 } from "@node-rs/xxhash";
import { compareKeys, partitionOf, ShuffleKeyError, type ShuffleKey } from "../../src/shuffle/index.ts";

/** The canonical bytes of a top-level string key, built here independently of the library. */
function stringKeyBytes(s: string): Buffer {
  const utf8 = Buffer.from(s, "utf8");
  const head = Buffer.alloc(5);
  head[0] = 4;
  head.writeUInt32BE(utf8.length, 1);
  return Buffer.concat([head, utf8]);
}

function numberKeyBytes(n: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 3;
  b.writeDoubleBE(n, 1);
  return b;
}

describe("partitionOf", () => {
  it("is xxh3-64 of the canonical bytes mod N for strings", () => {
    for (const n of [1, 7, 64, 1000]) {
      for (const s of ["", "a", "hello world", "naïve café", "日本語", "x".repeat(300)]) {
        expect(partitionOf(s, n)).toBe(Number(xxh3.xxh64(stringKeyBytes(s)) % BigInt(n)));
      }
    }
  });

  it("passes integers in [0, N) straight through and hashes every other number", () => {
    for (let k = 0; k < 16; k++) expect(partitionOf(k, 16)).toBe(k);
    for (const k of [16, 17, 1e9, -1, 2.5, -0.5]) {
      expect(partitionOf(k, 16)).toBe(Number(xxh3.xxh64(numberKeyBytes(k)) % 16n));
    }
    expect(partitionOf(-0, 16)).toBe(0);
  });

  it("spreads string keys over all partitions", () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 4000; i++) counts[partitionOf(`doc-${i}`, 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(350);
  });

  it("hashes equal composite keys equally whatever the field order", () => {
    expect(partitionOf({ a: 1, b: ["x", null] }, 97)).toBe(partitionOf({ b: ["x", null], a: 1 }, 97));
    expect(partitionOf(["a", "b"], 1 << 20)).not.toBe(partitionOf(["ab"], 1 << 20));
  });

  it("rejects keys without a canonical encoding, naming the operator and the key", () => {
    const bad: [unknown, RegExp][] = [
      [() => 1, /function/],
      [NaN, /non-finite number NaN/],
      [Infinity, /non-finite/],
      [undefined, /undefined/],
      [{ a: undefined }, /key\.a/],
      [[{ x: [1, NaN] }], /key\[0\]\.x\[1\]: non-finite number NaN/],
      [["id", Infinity], /key\[1\]: non-finite number Infinity/],
      [{ when: new Date(0) }, /Date/],
      [[1, Symbol("s")], /symbol/],
      [10n, /bigint/],
      [new Map(), /Map/],
    ];
    for (const [key, reason] of bad) {
      let caught: unknown;
      try {
        partitionOf(key, 8, "groupBy(byDomain)");
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ShuffleKeyError);
      const e = caught as ShuffleKeyError;
      expect(e.code).toBe("KILN_SHUFFLE_KEY");
      expect(e.message).toContain("groupBy(byDomain)");
      expect(e.message).toMatch(reason);
      expect(e.hint).not.toBe("");
    }
  });
});

describe("compareKeys", () => {
  it("orders null < booleans < numbers < strings < arrays < objects", () => {
    const keys: ShuffleKey[] = [{ a: 1 }, ["b"], "b", 3, true, null, false, "a", -2, [], ["a", 1], ["a"], { a: 0 }, { b: 0 }];
    const sorted = [...keys].sort(compareKeys);
    expect(sorted).toEqual([null, false, true, -2, 3, "a", "b", [], ["a"], ["a", 1], ["b"], { a: 0 }, { a: 1 }, { b: 0 }]);
  });

  it("is antisymmetric and treats -0 as 0", () => {
    const keys: ShuffleKey[] = [null, false, 0, 1.5, "", "z", [1], [1, 2], { x: "y" }];
    for (const a of keys) for (const b of keys) expect(Math.sign(compareKeys(a, b)) + Math.sign(compareKeys(b, a))).toBe(0);
    expect(compareKeys(-0, 0)).toBe(0);
  });
});
