/**
 * The proposer against known optima: a brute-force grid over a 3-source feasible set (with a
 * binding repetition cap and the KL pull) is the oracle; a flat law leaves the natural mixture;
 * caps and the minimum weight hold; and no random feasible candidate beats the proposal.
 */
import { describe, expect, it } from "vitest";
import { feasibleSet, isFeasible, projectKL } from "../../src/swarm/feasible.ts";
import { crossCheck, propose, type LawObjective } from "../../src/swarm/proposer.ts";
import { feasibleCandidates } from "../../src/swarm/sampler.ts";
import { gridOptimum, sourceLaws } from "./synthetic.ts";

const SOURCES = ["x", "y", "z"];
const Q = [0.6, 0.3, 0.1];

describe("proposer", () => {
  const objective: LawObjective = { laws: sourceLaws(3), weights: [1 / 3, 1 / 3, 1 / 3] };

  it("finds the known optimum of a synthetic law under caps and KL, within tolerance", () => {
    // Caps: 4 epochs of each source over 2000 target tokens with 1000 tokens in all: z (100 tokens) is capped at 0.2.
    const set = feasibleSet(SOURCES, Q.map((q) => q * 1000), 2000, 4, 0.02);
    expect(set.caps[2]).toBeCloseTo(0.2, 12);
    for (const lambda of [0.01, 0.05, 0.1]) {
      const p = propose(objective, { q: Q, lambda, set });
      const grid = gridOptimum(objective, Q, lambda, set, 0.0005);
      expect(p.value, `λ=${lambda}`).toBeLessThanOrEqual(grid.value + 1e-9);
      p.weights.forEach((w, j) => expect(Math.abs(w - grid.w[j]), `λ=${lambda} w[${j}]`).toBeLessThan(2e-3));
      expect(isFeasible(p.weights, set)).toBe(true);
      expect(p.kktResidual).toBeLessThan(1e-6);
    }
    // The law wants more of the small source than its cap allows: the cap binds at the optimum.
    const p = propose(objective, { q: Q, lambda: 0.05, set });
    expect(p.weights[2]).toBeCloseTo(0.2, 6);
  });

  it("a larger λ pulls the proposal towards the natural mixture", () => {
    const set = feasibleSet(SOURCES, Q.map((q) => q * 1000), 1000, 4, 0.01);
    const kls = [0.01, 0.1, 1].map((lambda) => propose(objective, { q: Q, lambda, set }).kl);
    expect(kls[0]).toBeGreaterThan(kls[1]);
    expect(kls[1]).toBeGreaterThan(kls[2]);
  });

  it("a law that ignores the mixture proposes the natural mixture", () => {
    const flat: LawObjective = { laws: [{ c: 0, b: 0, t: [0, 0, 0] }], weights: [1] };
    const set = feasibleSet(SOURCES, Q.map((q) => q * 1000), 1000, 4, 0.01);
    const p = propose(flat, { q: Q, lambda: 0.05, set });
    p.weights.forEach((w, j) => expect(w).toBeCloseTo(Q[j], 9));
  });

  it("no random feasible candidate beats the proposal, and the best candidates lie near it", () => {
    const set = feasibleSet(SOURCES, Q.map((q) => q * 1000), 2000, 4, 0.02);
    const opts = { q: Q, lambda: 0.05, set };
    const p = propose(objective, opts);
    const candidates = feasibleCandidates({ q: Q, temperature: 0.5, concentration: [0.1, 5] }, set, 5000, 11);
    expect(candidates).toHaveLength(5000);
    for (const c of candidates) expect(isFeasible(c, set)).toBe(true);
    const check = crossCheck(objective, opts, p, candidates, 20);
    expect(check.bestCandidateValue).toBeGreaterThanOrEqual(p.value - 1e-12);
    expect(check.topMeanValue).toBeGreaterThanOrEqual(p.value - 1e-12);
    expect(check.distance).toBeLessThan(0.1);
  });
});

describe("KL projection onto the capped simplex", () => {
  it("sums to 1, keeps the bounds and scales the free coordinates by one factor", () => {
    const lo = [0.05, 0.05, 0.05, 0.05];
    const hi = [0.7, 0.15, 1, 1];
    const v = [0.7, 0.5, 0.2, 0.02];
    const w = projectKL(v, lo, hi);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    w.forEach((x, j) => {
      expect(x).toBeGreaterThanOrEqual(lo[j] - 1e-12);
      expect(x).toBeLessThanOrEqual(hi[j] + 1e-12);
    });
    expect(w[1]).toBeCloseTo(0.15, 12);
    expect(w[3]).toBeCloseTo(0.05, 12);
    // w_0 and w_2 are free: the same multiple of v.
    expect(w[0] / v[0]).toBeCloseTo(w[2] / v[2], 9);
  });
});
