/**
 * Synthetic swarms for the swarm's numerical tests: mixtures drawn by the real sampler, metrics
 * generated from known log-linear laws plus seeded Gaussian noise (or pure noise), and a
 * brute-force grid search over a 3-source feasible set as the proposer's independent oracle.
 */
import { feasibleSet, isFeasible, type FeasibleSet } from "../../src/swarm/feasible.ts";
import { predictLaw, type LogLinearLaw } from "../../src/swarm/law.ts";
import { klDivergence, predictObjective, type LawObjective } from "../../src/swarm/proposer.ts";
import { Random } from "../../src/swarm/random.ts";
import { sampleSwarm } from "../../src/swarm/sampler.ts";

export const SOURCES4 = ["a", "b", "c", "d"];
export const Q4 = [0.4, 0.3, 0.2, 0.1];

/** A feasible set where every cap is at least `cap`, over sources with the natural shares q. */
export function openSet(sources: string[], q: number[], minWeight = 0.01, maxEpochs = 4, targetTokens = 1000): FeasibleSet {
  return feasibleSet(sources, q.map((x) => x * targetTokens), targetTokens, maxEpochs, minWeight);
}

export function swarmMixtures(set: FeasibleSet, q: number[], n: number, seed: number): number[][] {
  return sampleSwarm({ q, temperature: 0.5, concentration: [0.1, 5], set, size: n, minDistance: 0.02, seed }).mixtures;
}

/** Metrics from known laws plus N(0, noise²); one column per law. */
export function lawMetrics(W: number[][], laws: LogLinearLaw[], noise: number, seed: number): number[][] {
  const rng = new Random(seed, 99);
  return W.map((w) => laws.map((law) => predictLaw(law, w) + noise * rng.normal()));
}

/** Metrics that ignore the mixture: 2 ± noise. */
export function noiseMetrics(n: number, m: number, noise: number, seed: number): number[][] {
  const rng = new Random(seed, 98);
  return Array.from({ length: n }, () => Array.from({ length: m }, () => 2 + noise * rng.normal()));
}

/** Per-source bits-per-byte laws: each source's metric falls with its own weight, a little with the others'. */
export function sourceLaws(k: number, strength = 2.5): LogLinearLaw[] {
  return Array.from({ length: k }, (_, i) => {
    const raw = Array.from({ length: k }, (_, j) => (i === j ? -strength : -0.3 + 0.1 * j));
    const m = raw.reduce((a, b) => a + b, 0) / k;
    return { c: Math.log(1.2 + 0.1 * i), b: Math.log(0.8) + m, t: raw.map((x) => x - m) };
  });
}

/** The best point of min objective + λ·KL(w‖q) on a grid of step `h` over a 3-source feasible set. */
export function gridOptimum(obj: LawObjective, q: number[], lambda: number, set: FeasibleSet, h: number): { w: number[]; value: number } {
  let best = { w: [1, 0, 0], value: Infinity };
  const steps = Math.round(1 / h);
  for (let i = 0; i <= steps; i++) {
    for (let j = 0; i + j <= steps; j++) {
      const w = [i * h, j * h, Math.max(0, 1 - (i + j) * h)];
      if (!isFeasible(w, set)) continue;
      const value = predictObjective(obj, w) + lambda * klDivergence(w, q);
      if (value < best.value) best = { w, value };
    }
  }
  return best;
}
