/**
 * Bootstrap uncertainty of the proposal: resample the swarm's runs with replacement, refit every
 * law (from the full fit, with its Huber δ), propose again, and take percentile intervals of every
 * weight of the re-proposed mixtures; and, for the mixture actually proposed, of its predicted
 * objective and of its predicted gain over each baseline (baseline's prediction minus the
 * proposal's, under each resample's laws). Resample b draws from its own seeded stream.
 */
import type { FeasibleSet } from "./feasible.ts";
import { refitLaw, type LawFit } from "./law.ts";
import { predictObjective, propose, type LawObjective } from "./proposer.ts";
import { Random } from "./random.ts";
import { quantile } from "./stats.ts";
import type { FitData } from "./validation.ts";

export interface BootstrapOptions {
  resamples: number;
  /** Central coverage of the intervals (0.9: the 5th to the 95th percentile). */
  level: number;
  seed: number;
  q: number[];
  lambda: number;
  set: FeasibleSet;
}

export interface BootstrapResult {
  resamples: number;
  level: number;
  /** Interval per weight, in source order. */
  weights: Array<[number, number]>;
  predicted: [number, number];
  /** Interval of the predicted gain over each baseline (positive: the proposal is predicted better). */
  gains: Record<string, [number, number]>;
}

function resampleRows(n: number, rng: Random): number[] {
  return Array.from({ length: n }, () => rng.int(n));
}

export function bootstrapProposal(
  data: FitData,
  fits: LawFit[],
  proposed: number[],
  baselines: Record<string, number[]>,
  opts: BootstrapOptions,
): BootstrapResult {
  const n = data.W.length;
  const k = proposed.length;
  const weightDraws: number[][] = Array.from({ length: k }, () => []);
  const predictedDraws: number[] = [];
  const gainDraws: Record<string, number[]> = Object.fromEntries(Object.keys(baselines).map((b) => [b, []]));
  for (let b = 0; b < opts.resamples; b++) {
    const rows = resampleRows(n, new Random(opts.seed, 5, b));
    const W = rows.map((r) => data.W[r]);
    const objective: LawObjective = {
      laws: fits.map((fit, i) => refitLaw(W, rows.map((r) => data.Y[r][i]), fit.law, fit.delta).law),
      weights: data.objectiveWeights,
    };
    const again = propose(objective, { q: opts.q, lambda: opts.lambda, set: opts.set });
    again.weights.forEach((w, j) => weightDraws[j].push(w));
    const atProposal = predictObjective(objective, proposed);
    predictedDraws.push(atProposal);
    for (const [name, w] of Object.entries(baselines)) gainDraws[name].push(predictObjective(objective, w) - atProposal);
  }
  const lo = (1 - opts.level) / 2;
  const hi = 1 - lo;
  const interval = (xs: number[]): [number, number] => [quantile(xs, lo), quantile(xs, hi)];
  return {
    resamples: opts.resamples,
    level: opts.level,
    weights: weightDraws.map(interval),
    predicted: interval(predictedDraws),
    gains: Object.fromEntries(Object.entries(gainDraws).map(([name, xs]) => [name, interval(xs)])),
  };
}
