/**
 * The swarm sampler and the feasible set: every sampled mixture keeps the caps and the minimum
 * weight and is no near-duplicate of another or of an anchor; the same seed draws the same swarm;
 * an empty feasible set or an impossible swarm is a typed error; the seeded generator's Dirichlet
 * and gamma draws have the right moments.
 */
import { describe, expect, it } from "vitest";
import { SwarmInfeasibleError, SwarmSamplingError } from "../../src/swarm/errors.ts";
import { epochsAt, feasibleSet, infeasibility, proxyTokenCaps, totalVariation } from "../../src/swarm/feasible.ts";
import { Random } from "../../src/swarm/random.ts";
import { sampleSwarm, tempered } from "../../src/swarm/sampler.ts";

const SOURCES = ["code", "email", "fiction", "learned", "web"];
const AVAILABLE = [300_000, 900_000, 400_000, 150_000, 2_000_000];
const TOTAL = AVAILABLE.reduce((a, b) => a + b, 0);
const Q = AVAILABLE.map((a) => a / TOTAL);

describe("swarm sampler", () => {
  // A target run of one pass over everything: each source may take at most 4× its natural share.
  const set = feasibleSet(SOURCES, AVAILABLE, TOTAL, 4, 0.02);
  const anchors = [Q, SOURCES.map(() => 0.2)];
  const sample = (seed: number) => sampleSwarm({ q: Q, temperature: 0.5, concentration: [0.1, 5], set, size: 40, minDistance: 0.03, seed, avoid: anchors });

  it("keeps the caps and the minimum weight in every sampled mixture and drops near-duplicates", () => {
    const s = sample(3);
    expect(s.mixtures).toHaveLength(40);
    for (const w of s.mixtures) {
      expect(infeasibility(w, set)).toBeNull();
      w.forEach((x, j) => {
        expect(x).toBeGreaterThanOrEqual(0.02 - 1e-6);
        expect(x * TOTAL).toBeLessThanOrEqual(4 * AVAILABLE[j] * (1 + 1e-6));
      });
      expect(epochsAt(w, AVAILABLE, TOTAL).every((e) => e <= 4 + 1e-6)).toBe(true);
    }
    for (let i = 0; i < s.mixtures.length; i++) {
      for (const other of [...anchors, ...s.mixtures.slice(i + 1)]) expect(totalVariation(s.mixtures[i], other)).toBeGreaterThanOrEqual(0.03);
    }
    expect(s.rejected.infeasible).toBeGreaterThan(0);
    expect(s.draws).toBe(40 + s.rejected.infeasible + s.rejected.duplicate);
    for (const c of s.concentrations) {
      expect(c).toBeGreaterThanOrEqual(0.1);
      expect(c).toBeLessThanOrEqual(5);
    }
  });

  it("draws the same swarm from the same seed and another from another seed", () => {
    expect(sample(3)).toEqual(sample(3));
    expect(sample(4).mixtures[0]).not.toEqual(sample(3).mixtures[0]);
  });

  it("refuses an empty feasible set and an impossible swarm with typed errors", () => {
    expect(() => feasibleSet(SOURCES, AVAILABLE, TOTAL * 10, 4, 0.02)).toThrow(SwarmInfeasibleError);
    expect(() => feasibleSet(SOURCES, AVAILABLE, TOTAL, 4, 0.3)).toThrow(/sums to more than 1/);
    expect(() => sampleSwarm({ q: Q, temperature: 0.5, concentration: [0.1, 5], set, size: 50, minDistance: 0.6, seed: 1, maxDraws: 5000 })).toThrow(SwarmSamplingError);
  });

  it("scales each source's proxy tokens by proxy/target tokens, so a proxy repeats data as the target run would", () => {
    const caps = proxyTokenCaps(set, TOTAL / 100, 10);
    caps.forEach((c, j) => expect(c).toBe(Math.ceil(AVAILABLE[j] / 100)));
    expect(proxyTokenCaps(set, TOTAL * 2, 10)).toEqual(AVAILABLE);
  });
});

describe("seeded random numbers", () => {
  it("Dirichlet draws have mean α/Σα and gamma draws mean and variance equal to the shape", () => {
    const rng = new Random(5, 1);
    const alpha = [0.3, 1.2, 4];
    const n = 20_000;
    const sums = [0, 0, 0];
    for (let i = 0; i < n; i++) rng.dirichlet(alpha).forEach((x, j) => (sums[j] += x));
    sums.forEach((s, j) => expect(s / n).toBeCloseTo(alpha[j] / 5.5, 2));
    for (const shape of [0.2, 2.5]) {
      const xs = Array.from({ length: n }, () => Math.exp(rng.logGamma(shape)));
      const mean = xs.reduce((a, b) => a + b, 0) / n;
      const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / n;
      expect(Math.abs(mean - shape) / shape).toBeLessThan(0.05);
      expect(Math.abs(variance - shape) / shape).toBeLessThan(0.12);
    }
  });

  it("gives the same stream for the same (seed, streams) and another for another", () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Random(9, 2, 3)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Random(9, 2, 3)));
    const c = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Random(9, 3, 2)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("tempers the natural share towards uniform", () => {
    const p = tempered([0.81, 0.09, 0.1], 0.5);
    expect(p[0] / p[1]).toBeCloseTo(3, 9);
    expect(tempered([0.7, 0.3], 0)).toEqual([0.5, 0.5]);
  });
});
