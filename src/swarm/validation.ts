/**
 * Fitting every metric's law, and judging the fit the way it will be used: k-fold cross-validation
 * gives each run a prediction from laws fitted without it; Spearman's ρ between those out-of-fold
 * predictions and the measured objective says whether the swarm ranks mixtures, and regret@1 says
 * how much worse the run the fit would have picked is than the best run measured.
 */
import { fitLaw, predictLaw, type LawFit } from "./law.ts";
import type { LawObjective } from "./proposer.ts";
import { Random } from "./random.ts";
import { spearman } from "./stats.ts";

/** Runs as the fit sees them: mixtures (rows, Σ = 1) and measured metrics (one column per law). */
export interface FitData {
  W: number[][];
  /** Y[n][i]: metric i of run n. */
  Y: number[][];
  /** Weight of each metric in the objective (e.g. 1/m each for a macro average). */
  objectiveWeights: number[];
}

export interface FitSettings {
  starts: number;
  folds: number;
  seed: number;
}

export function measuredObjective(data: FitData): number[] {
  return data.Y.map((row) => row.reduce((s, v, i) => s + data.objectiveWeights[i] * v, 0));
}

export function fitAll(data: FitData, settings: FitSettings, rows?: number[]): LawFit[] {
  const use = rows ?? data.W.map((_, n) => n);
  const W = use.map((n) => data.W[n]);
  return data.objectiveWeights.map((_, i) =>
    fitLaw(
      W,
      use.map((n) => data.Y[n][i]),
      { starts: settings.starts, seed: settings.seed + i },
    ),
  );
}

export function objectiveOf(fits: LawFit[], data: FitData): LawObjective {
  return { laws: fits.map((f) => f.law), weights: data.objectiveWeights };
}

export interface CrossValidation {
  folds: number;
  /** Out-of-fold prediction of each metric of each run: oof[n][i]. */
  oof: number[][];
  /** Out-of-fold prediction of the objective per run. */
  oofObjective: number[];
  spearman: number;
  /** Spearman's ρ per metric. */
  metricSpearman: number[];
  /** Measured objective of the run with the best out-of-fold prediction, minus the best measured. */
  regretAt1: number;
  /** Index of the run the out-of-fold predictions rank first. */
  pickedRun: number;
  bestRun: number;
}

/** Deterministic fold of each run: a seeded permutation dealt round-robin. */
export function foldAssignment(n: number, folds: number, seed: number): number[] {
  const order = new Random(seed, 4).permutation(n);
  const fold = new Array<number>(n);
  order.forEach((run, position) => (fold[run] = position % folds));
  return fold;
}

export function crossValidate(data: FitData, settings: FitSettings): CrossValidation {
  const n = data.W.length;
  const folds = Math.max(2, Math.min(settings.folds, n));
  const fold = foldAssignment(n, folds, settings.seed);
  const oof: number[][] = data.W.map(() => []);
  for (let f = 0; f < folds; f++) {
    const train = fold.flatMap((g, run) => (g === f ? [] : [run]));
    const fits = fitAll(data, settings, train);
    for (let run = 0; run < n; run++) if (fold[run] === f) oof[run] = fits.map((fit) => predictLaw(fit.law, data.W[run]));
  }
  const measured = measuredObjective(data);
  const oofObjective = oof.map((row) => row.reduce((s, v, i) => s + data.objectiveWeights[i] * v, 0));
  const argmin = (xs: number[]) => xs.reduce((best, x, i) => (x < xs[best] ? i : best), 0);
  const pickedRun = argmin(oofObjective);
  const bestRun = argmin(measured);
  return {
    folds,
    oof,
    oofObjective,
    spearman: spearman(oofObjective, measured),
    metricSpearman: data.objectiveWeights.map((_, i) => spearman(oof.map((row) => row[i]), data.Y.map((row) => row[i]))),
    regretAt1: measured[pickedRun] - measured[bestRun],
    pickedRun,
    bestRun,
  };
}
