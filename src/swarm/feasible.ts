/**
 * The feasible set of mixtures: the simplex over the sources (in their fixed, sorted order) with a
 * minimum weight and a repetition cap per source, `w_j · targetTokens ≤ maxEpochs · available_j`.
 * Owns building it from the inventory (refusing an empty set with the reason), the membership test,
 * simulated epochs, the per-source token caps that make a small proxy see the repetition the
 * target run would see, and the KL (Bregman) projection onto the capped simplex that the mirror
 * descent proposer uses.
 */
import { SwarmInfeasibleError } from "./errors.ts";

/** Feasibility is checked with this slack, so that rounding a mixture to 1e-6 keeps it feasible. */
export const FEASIBLE_TOLERANCE = 1e-6;

export interface FeasibleSet {
  sources: string[];
  /** Train tokens available per source, in `sources` order. */
  available: number[];
  /** Tokens of the run the mixture is for. */
  targetTokens: number;
  maxEpochs: number;
  minWeight: number;
  /** Upper bound per source: min(1, maxEpochs · available / targetTokens). */
  caps: number[];
}

export function feasibleSet(sources: string[], available: number[], targetTokens: number, maxEpochs: number, minWeight: number): FeasibleSet {
  const caps = available.map((a) => Math.min(1, (maxEpochs * a) / targetTokens));
  if (minWeight * sources.length > 1 + FEASIBLE_TOLERANCE) {
    throw new SwarmInfeasibleError(
      `a minimum weight of ${minWeight} for each of ${sources.length} sources sums to more than 1`,
      `set minWeight to at most ${1 / sources.length}`,
    );
  }
  const tooSmall = sources.filter((_, j) => caps[j] < minWeight);
  if (tooSmall.length) {
    throw new SwarmInfeasibleError(
      `source(s) ${tooSmall.join(", ")}: the repetition cap (${maxEpochs} epochs of their train tokens over ${targetTokens} target tokens) is below the minimum weight ${minWeight}`,
      "lower minWeight or targetTokens, raise maxEpochs, or leave the source out",
    );
  }
  const capTotal = caps.reduce((a, b) => a + b, 0);
  if (capTotal < 1 - FEASIBLE_TOLERANCE) {
    throw new SwarmInfeasibleError(
      `the sources' repetition caps sum to ${capTotal.toFixed(4)} < 1: ${targetTokens} target tokens need more than ${maxEpochs} epochs of the data available`,
      "lower targetTokens, raise maxEpochs, or add data",
    );
  }
  return { sources, available, targetTokens, maxEpochs, minWeight, caps };
}

/** Why a mixture is outside the set, or null when it is inside. */
export function infeasibility(w: readonly number[], set: FeasibleSet): string | null {
  const total = w.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > FEASIBLE_TOLERANCE) return `weights sum to ${total}`;
  for (let j = 0; j < w.length; j++) {
    if (w[j] < set.minWeight - FEASIBLE_TOLERANCE) return `${set.sources[j]} below the minimum weight`;
    if (w[j] > set.caps[j] + FEASIBLE_TOLERANCE) return `${set.sources[j]} over its repetition cap`;
  }
  return null;
}

export function isFeasible(w: readonly number[], set: FeasibleSet): boolean {
  return infeasibility(w, set) === null;
}

/** Epochs of each source's available tokens that a run of `tokens` tokens at mixture `w` goes through. */
export function epochsAt(w: readonly number[], available: readonly number[], tokens: number): number[] {
  return w.map((x, j) => (x * tokens) / available[j]);
}

/**
 * Per-source token caps for a proxy of `proxyTokens`: each source scaled down by proxyTokens /
 * targetTokens, so the proxy repeats a source as often as the target run would (at least
 * `minTokens`, at most all of it; no scaling when the proxy is as large as the target).
 */
export function proxyTokenCaps(set: FeasibleSet, proxyTokens: number, minTokens: number): number[] {
  const scale = Math.min(1, proxyTokens / set.targetTokens);
  return set.available.map((a) => Math.min(a, Math.max(minTokens, Math.ceil(a * scale))));
}

/**
 * The KL projection of positive `v` onto {Σw = 1, lo ≤ w ≤ hi}: w_j = clip(z·v_j, lo_j, hi_j) with
 * the scale z that makes the weights sum to 1 (found by bisection on log z).
 */
export function projectKL(v: readonly number[], lo: readonly number[], hi: readonly number[]): number[] {
  const at = (logZ: number) => v.map((x, j) => Math.min(hi[j], Math.max(lo[j], Math.exp(logZ) * x)));
  const sum = (w: number[]) => w.reduce((a, b) => a + b, 0);
  const logs = v.map((x) => Math.log(Math.max(x, 1e-300)));
  let a = -Math.max(...logs) + Math.log(Math.min(...lo.map((l) => Math.max(l, 1e-300)))) - 1;
  let b = -Math.min(...logs) + 1;
  for (let i = 0; i < 50 && sum(at(a)) > 1; i++) a -= 10;
  for (let i = 0; i < 50 && sum(at(b)) < 1; i++) b += 10;
  for (let i = 0; i < 200 && b - a > 1e-15; i++) {
    const mid = (a + b) / 2;
    if (sum(at(mid)) < 1) a = mid;
    else b = mid;
  }
  const w = at((a + b) / 2);
  // Put the last rounding error on the freest coordinate.
  const gap = 1 - sum(w);
  let free = 0;
  for (let j = 1; j < w.length; j++) if (Math.min(w[j] - lo[j], hi[j] - w[j]) > Math.min(w[free] - lo[free], hi[free] - w[free])) free = j;
  w[free] += gap;
  return w;
}

/** Total variation distance between two mixtures (half the L1 distance). */
export function totalVariation(a: readonly number[], b: readonly number[]): number {
  let d = 0;
  for (let j = 0; j < a.length; j++) d += Math.abs(a[j] - b[j]);
  return d / 2;
}
