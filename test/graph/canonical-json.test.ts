import { describe, expect, it } from "vitest";
import { canonicalJson, CanonicalJsonError } from "../../src/graph/canonical-json.ts";

describe("canonicalJson", () => {
  it("sorts keys at every depth so key order does not change the text", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: "x" } })).toBe('{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it("writes string-keyed Maps as objects, honours toJSON and drops undefined object fields", () => {
    expect(canonicalJson(new Map([["b", 2], ["a", 1]]))).toBe('{"a":1,"b":2}');
    expect(canonicalJson({ when: new Date(0) })).toBe('{"when":"1970-01-01T00:00:00.000Z"}');
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  const refused: Array<[string, unknown, string]> = [
    ["function", { model: { act: () => 1 } }, "model.act"],
    ["symbol", { tags: [Symbol("x")] }, "tags[0]"],
    ["NaN", { lr: NaN }, "lr"],
    ["Infinity", { a: { b: Infinity } }, "a.b"],
    ["undefined in array", { xs: [1, undefined] }, "xs[1]"],
    ["class instance", { t: new (class Tokenizer { x = 1 })() }, "t"],
    ["non-string map key", { m: new Map([[1, "a"]]) }, "m.1"],
    ["bigint", { n: 10n }, "n"],
  ];
  for (const [what, value, path] of refused) {
    it(`refuses ${what} and names the path ${path}`, () => {
      let err: unknown;
      try {
        canonicalJson(value);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CanonicalJsonError);
      expect((err as CanonicalJsonError).path).toBe(path);
      expect((err as Error).message).toContain(`'${path}'`);
    });
  }

  it("refuses reference cycles", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => canonicalJson(a)).toThrow(/cycle at 'self'/);
  });
});
