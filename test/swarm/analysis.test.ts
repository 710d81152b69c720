/**
 * The whole analysis on synthetic swarms: pure-noise targets trip the insufficient-signal gate and
 * propose nothing; per-source laws with noise pass it, and the proposal is feasible, close to the
 * optimum of the true laws, inside its own bootstrap intervals, predicted to beat both baselines,
 * and reported for every λ; the paired-gain arithmetic and the acceptance rule.
 */
import { describe, expect, it } from "vitest";
import { analyseSwarm, type AnalysisOptions } from "../../src/swarm/analysis.ts";
import { feasibleSet, isFeasible } from "../../src/swarm/feasible.ts";
import { predictObjective, propose } from "../../src/swarm/proposer.ts";
import { dot, spearman } from "../../src/swarm/stats.ts";
import { accepted, pairedGain } from "../../src/swarm/verify.ts";
import { lawMetrics, noiseMetrics, sourceLaws, swarmMixtures } from "./synthetic.ts";

const SOURCES = ["a", "b", "c", "d"];
const AVAILABLE = [5000, 3000, 1500, 500];
const TOTAL = 10_000;
const Q = AVAILABLE.map((x) => x / TOTAL);
const set = feasibleSet(SOURCES, AVAILABLE, TOTAL, 4, 0.02);
const OPTIONS: AnalysisOptions = { starts: 6, folds: 5, gate: 0.8, lambda: 0.05, alternativeLambdas: [0.01, 0.1], candidates: 4000, top: 20, resamples: 60, level: 0.9, seed: 2 };
const W = swarmMixtures(set, Q, 36, 21);
const weights = [0.25, 0.25, 0.25, 0.25];
const input = (metrics: number[][]) => ({
  sources: SOURCES,
  q: Q,
  set,
  distribution: { q: Q, temperature: 0.5, concentration: [0.1, 5] as [number, number] },
  runs: W.map((w, n) => ({ id: `run-${n}`, weights: w, metrics: metrics[n] })),
  objectiveWeights: weights,
  baselines: { proportional: Q, "high-quality": [0.7, 0.3, 0, 0] },
});

describe("swarm analysis", () => {
  it("pure-noise targets trip the insufficient-signal gate and nothing is proposed", () => {
    const a = analyseSwarm(input(noiseMetrics(W.length, 4, 0.02, 4)), OPTIONS);
    expect(a.status).toBe("insufficient-signal");
    expect(a.cv.spearman).toBeLessThan(0.8);
    expect(a.proposal).toBeNull();
    expect(a.bootstrap).toBeNull();
    expect(a.reason).toMatch(/^insufficient signal: out-of-fold Spearman ρ -?\d\.\d{3} over 36 runs \(gate 0\.8\)/);
  });

  it("laws with noise pass the gate; the proposal is feasible, near the true optimum and inside its intervals", () => {
    const laws = sourceLaws(4);
    const metrics = lawMetrics(W, laws, 0.01, 5);
    const a = analyseSwarm(input(metrics), OPTIONS);
    expect(a.status).toBe("proposed");
    // The noise caps the ρ any fit can reach: that of the true objective against the measured one.
    const ceiling = spearman(
      W.map((w) => predictObjective({ laws, weights }, w)),
      metrics.map((m) => dot(m, weights)),
    );
    expect(a.cv.spearman).toBeGreaterThan(0.8);
    expect(a.cv.spearman).toBeGreaterThan(ceiling - 0.05);
    const p = a.proposal!;
    expect(isFeasible(p.weights, set)).toBe(true);
    p.weights.forEach((w) => expect(Math.round(w * 1e6) / 1e6).toBe(w));
    const truth = propose({ laws, weights }, { q: Q, lambda: 0.05, set });
    p.weights.forEach((w, j) => expect(Math.abs(w - truth.weights[j]), `w[${j}]`).toBeLessThan(0.05));
    const boot = a.bootstrap!;
    expect(boot.resamples).toBe(60);
    boot.weights.forEach(([lo, hi], j) => {
      expect(lo).toBeLessThanOrEqual(p.weights[j] + 0.02);
      expect(hi).toBeGreaterThanOrEqual(p.weights[j] - 0.02);
      expect(hi - lo).toBeLessThan(0.3);
    });
    expect(boot.predicted[0]).toBeLessThanOrEqual(p.predicted);
    expect(boot.predicted[1]).toBeGreaterThanOrEqual(p.predicted);
    expect(boot.gains.proportional[0]).toBeGreaterThan(0);
    expect(boot.gains["high-quality"][0]).toBeGreaterThan(0);
    expect(a.alternatives.map((x) => x.lambda)).toEqual([0.01, 0.1]);
    for (const alt of a.alternatives) expect(isFeasible(alt.weights, set)).toBe(true);
    expect(a.crossCheck!.bestCandidateValue).toBeGreaterThanOrEqual(p.value - 1e-6);
  });

  it("is deterministic for a seed", () => {
    const metrics = lawMetrics(W, sourceLaws(4), 0.01, 6);
    expect(analyseSwarm(input(metrics), OPTIONS)).toEqual(analyseSwarm(input(metrics), OPTIONS));
  });

  it("refuses a swarm too small to fit and cross-validate", () => {
    const small = { ...input(lawMetrics(W, sourceLaws(4), 0.01, 6)), runs: input(lawMetrics(W, sourceLaws(4), 0.01, 6)).runs.slice(0, 5) };
    expect(() => analyseSwarm(small, OPTIONS)).toThrow(/5 runs cannot fit a law with 5 parameters/);
  });
});

describe("paired verification gains", () => {
  it("pairs by seed, gives the standard error of the mean gain and accepts only beyond 2 standard errors", () => {
    const g = pairedGain("proportional", [0, 1, 2], [2.1, 2.2, 2.15], [2.0, 2.12, 2.04]);
    expect(g.gains.map((x) => Number(x.toFixed(10)))).toEqual([0.1, 0.08, 0.11]);
    expect(g.mean).toBeCloseTo(0.29 / 3, 12);
    const sd = Math.sqrt([0.1, 0.08, 0.11].reduce((a, x) => a + (x - 0.29 / 3) ** 2, 0) / 2);
    expect(g.standardError).toBeCloseTo(sd / Math.sqrt(3), 12);
    expect(g.beats).toBe(true);
    const noisy = pairedGain("high-quality", [0, 1, 2], [2.1, 2.0, 2.2], [2.0, 2.05, 2.1]);
    expect(noisy.beats).toBe(false);
    expect(accepted([g, noisy])).toBe(false);
    expect(accepted([g])).toBe(true);
    expect(accepted([])).toBe(false);
  });
});
