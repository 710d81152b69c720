/**
 * The proposer: the feasible mixture minimising the predicted objective plus a pull towards the
 * natural mixture, G(w) = Σ_i a_i · law_i(w) + λ · KL(w ‖ q), under the minimum weight and the
 * repetition caps. Each law is convex in w (a constant plus the exponential of an affine function)
 * and so is the KL term, so G is convex and, for λ > 0, has one minimiser: mirror descent
 * (exponentiated gradient with a KL projection onto the capped simplex, backtracking step size)
 * reaches it, and the KKT residual at the end says how closely. The cross-check scores many random
 * feasible mixtures and averages the best few.
 */
import { projectKL, type FeasibleSet } from "./feasible.ts";
import { predictLaw, type LogLinearLaw } from "./law.ts";
import { dot } from "./stats.ts";

/** A weighted sum of metric laws: the objective (macro bits per byte: every weight 1/m). */
export interface LawObjective {
  laws: LogLinearLaw[];
  weights: number[];
}

export interface ProposeOptions {
  q: number[];
  lambda: number;
  set: FeasibleSet;
  maxIterations?: number;
}

export interface Proposal {
  weights: number[];
  /** The predicted objective at the proposal (without the KL term). */
  predicted: number;
  kl: number;
  /** predicted + λ·KL, the value minimised. */
  value: number;
  iterations: number;
  /** Largest violation of the optimality conditions (0 at the exact optimum). */
  kktResidual: number;
}

export function predictObjective(obj: LawObjective, w: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < obj.laws.length; i++) total += obj.weights[i] * predictLaw(obj.laws[i], w);
  return total;
}

export function klDivergence(w: readonly number[], q: readonly number[]): number {
  let total = 0;
  for (let j = 0; j < w.length; j++) if (w[j] > 0) total += w[j] * Math.log(w[j] / q[j]);
  return total;
}

function regularised(obj: LawObjective, q: readonly number[], lambda: number, w: readonly number[]): number {
  return predictObjective(obj, w) + lambda * klDivergence(w, q);
}

function gradient(obj: LawObjective, q: readonly number[], lambda: number, w: readonly number[]): number[] {
  const g = w.map((x, j) => (lambda > 0 ? lambda * (Math.log(Math.max(x, 1e-300) / q[j]) + 1) : 0));
  for (let i = 0; i < obj.laws.length; i++) {
    const law = obj.laws[i];
    const e = obj.weights[i] * Math.exp(law.b + dot(law.t, w));
    for (let j = 0; j < w.length; j++) g[j] += e * law.t[j];
  }
  return g;
}

/** The largest violation of KKT for min G on {Σw = 1, lo ≤ w ≤ hi} at w with gradient g. */
export function kktResidual(w: readonly number[], g: readonly number[], lo: readonly number[], hi: readonly number[]): number {
  const slack = 1e-9;
  const free = w.map((x, j) => x > lo[j] + slack && x < hi[j] - slack);
  const freeGrads = g.filter((_, j) => free[j]);
  // ν: the common gradient of the free coordinates, or the best multiplier for the bound ones.
  const nu = freeGrads.length ? freeGrads.reduce((a, b) => a + b, 0) / freeGrads.length : (Math.max(...g) + Math.min(...g)) / 2;
  let worst = 0;
  for (let j = 0; j < w.length; j++) {
    const v = free[j] ? Math.abs(g[j] - nu) : w[j] <= lo[j] + slack ? Math.max(0, nu - g[j]) : Math.max(0, g[j] - nu);
    worst = Math.max(worst, v);
  }
  return worst;
}

export function propose(obj: LawObjective, opts: ProposeOptions): Proposal {
  const { q, lambda, set } = opts;
  const lo = set.caps.map(() => set.minWeight);
  const hi = set.caps;
  let w = projectKL(q, lo, hi);
  let value = regularised(obj, q, lambda, w);
  let eta = 1;
  let iterations = 0;
  const maxIterations = opts.maxIterations ?? 20_000;
  for (; iterations < maxIterations; iterations++) {
    const g = gradient(obj, q, lambda, w);
    const gMax = Math.max(...g);
    let next: number[] | null = null;
    let nextValue = value;
    for (let tries = 0; tries < 60; tries++) {
      const candidate = projectKL(w.map((x, j) => x * Math.exp(-eta * (g[j] - gMax))), lo, hi);
      const candidateValue = regularised(obj, q, lambda, candidate);
      if (candidateValue <= value) {
        next = candidate;
        nextValue = candidateValue;
        break;
      }
      eta /= 2;
    }
    if (!next) break;
    const moved = Math.max(...next.map((x, j) => Math.abs(x - w[j])));
    const gained = value - nextValue;
    w = next;
    value = nextValue;
    eta *= 1.5;
    // Converged: the step no longer moves the mixture or lowers G beyond rounding.
    if (moved < 1e-13 || gained <= 1e-15 * (1 + Math.abs(value))) break;
  }
  const predicted = predictObjective(obj, w);
  const kl = klDivergence(w, q);
  return { weights: w, predicted, kl, value: predicted + lambda * kl, iterations, kktResidual: kktResidual(w, gradient(obj, q, lambda, w), lo, hi) };
}

export interface CandidateCheck {
  candidates: number;
  top: number;
  /** Mean of the `top` candidates with the lowest regularised objective. */
  topMean: number[];
  topMeanValue: number;
  topMeanPredicted: number;
  bestCandidateValue: number;
  /** Half the L1 distance between the proposal and topMean. */
  distance: number;
}

export function crossCheck(obj: LawObjective, opts: ProposeOptions, proposal: Proposal, candidates: number[][], top: number): CandidateCheck {
  const scored = candidates.map((w) => ({ w, value: regularised(obj, opts.q, opts.lambda, w) })).sort((a, b) => a.value - b.value);
  const best = scored.slice(0, Math.max(1, Math.min(top, scored.length)));
  const k = proposal.weights.length;
  const topMean = Array.from({ length: k }, (_, j) => best.reduce((s, c) => s + c.w[j], 0) / best.length);
  let distance = 0;
  for (let j = 0; j < k; j++) distance += Math.abs(topMean[j] - proposal.weights[j]);
  return {
    candidates: candidates.length,
    top: best.length,
    topMean,
    topMeanValue: regularised(obj, opts.q, opts.lambda, topMean),
    topMeanPredicted: predictObjective(obj, topMean),
    bestCandidateValue: best[0]?.value ?? NaN,
    distance: distance / 2,
  };
}
