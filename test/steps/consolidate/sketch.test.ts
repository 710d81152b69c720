/**
 * The quantile sketch: relative error against exact quantiles on several distributions (negative,
 * zero and positive values), and merging shard sketches (through JSON, in any order) gives the
 * same quantiles as one sketch of all the data.
 */
import { describe, expect, it } from "vitest";
import { QuantileSketch } from "../../../src/steps/consolidate/index.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const exactQuantile = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))];

describe("QuantileSketch", () => {
  const r = rng(3);
  const distributions: Record<string, number[]> = {
    uniform: Array.from({ length: 20000 }, () => r()),
    lognormal: Array.from({ length: 20000 }, () => Math.exp(4 * (r() + r() + r() - 1.5))),
    mixed: Array.from({ length: 20000 }, (_, i) => (i % 10 === 0 ? 0 : (r() - 0.5) * 1000)),
  };
  for (const [name, values] of Object.entries(distributions)) {
    it(`stays within its relative accuracy on ${name} values`, () => {
      const s = new QuantileSketch(0.01);
      for (const v of values) s.add(v);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
        const exact = exactQuantile(sorted, q);
        expect(Math.abs(s.quantile(q) - exact), `q=${q}`).toBeLessThanOrEqual(0.01 * Math.abs(exact) + 1e-9);
      }
    });
  }

  it("merges shard sketches into the sketch of all the data", () => {
    const values = distributions.mixed;
    const whole = new QuantileSketch(0.01);
    values.forEach((v) => whole.add(v));
    const shards = [0, 1, 2, 3].map((k) => {
      const s = new QuantileSketch(0.01);
      values.filter((_, i) => i % 4 === k).forEach((v) => s.add(v));
      return JSON.parse(JSON.stringify(s.toJSON()));
    });
    const merged = new QuantileSketch(0.01);
    for (const j of [shards[2], shards[0], shards[3], shards[1]]) merged.merge(QuantileSketch.fromJSON(j));
    expect(merged.count).toBe(values.length);
    for (const q of [0, 0.05, 0.5, 0.93, 1]) expect(merged.quantile(q)).toBe(whole.quantile(q));
    expect(() => merged.merge(new QuantileSketch(0.02))).toThrow(/accuracy/);
  });
});
