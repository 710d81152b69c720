/**
 * The log-linear mixing law of one metric, y(w) = exp(c) + exp(b + w·t), and its robust fit.
 *
 * Because Σw = 1, b and t are only identified together: internally the law is exp(c) + exp(w·u)
 * with u = b + t, and it is reported with t centred (Σt = 0) and b = mean(u). The fit minimises a
 * Huber loss by Levenberg–Marquardt on iteratively reweighted residuals: first least squares from
 * several starts (a regression of log(y − exp(c)) on w, and seeded perturbations of it), then the
 * Huber threshold δ = 1.345 · 1.4826 · MAD of the best least-squares residuals, then the Huber loss
 * from every converged start; δ is re-estimated from the best robust fit's residuals and the fits
 * repeated until δ settles (a few rounds); the lowest loss wins.
 */
import { Random } from "./random.ts";
import { dot, mean, medianAbsoluteDeviation, solve } from "./stats.ts";

export interface LogLinearLaw {
  c: number;
  b: number;
  /** One coefficient per source, centred (Σt = 0). */
  t: number[];
}

export interface LawFit {
  law: LogLinearLaw;
  /** The Huber threshold used. */
  delta: number;
  /** Huber loss at the fitted law. */
  loss: number;
  /** Root mean squared residual at the fitted law. */
  rmse: number;
}

export interface LawFitOptions {
  /** Starting points tried (default 8). */
  starts?: number;
  seed?: number;
  maxIterations?: number;
}

const MAX_ITERATIONS = 400;
/** Rounds of re-estimating the Huber threshold from the robust fit's residuals. */
const SCALE_ROUNDS = 4;

export function predictLaw(law: LogLinearLaw, w: readonly number[]): number {
  return Math.exp(law.c) + Math.exp(law.b + dot(law.t, w));
}

function toLaw(theta: readonly number[]): LogLinearLaw {
  const u = theta.slice(1);
  const b = mean(u);
  return { c: theta[0], b, t: u.map((x) => x - b) };
}

function toTheta(law: LogLinearLaw): number[] {
  return [law.c, ...law.t.map((x) => law.b + x)];
}

function huber(r: number, delta: number): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

function lossAt(theta: readonly number[], W: readonly number[][], y: readonly number[], delta: number): number {
  const ec = Math.exp(theta[0]);
  const u = theta.slice(1);
  let total = 0;
  for (let n = 0; n < y.length; n++) total += huber(y[n] - ec - Math.exp(dot(u, W[n])), delta);
  return Number.isFinite(total) ? total : Infinity;
}

/** The damped, reweighted normal equations at theta: (JᵀΩJ + μ·(diag + ε)) Δ = JᵀΩr. */
function lmStep(theta: readonly number[], W: readonly number[][], y: readonly number[], delta: number, mu: number): number[] | null {
  const p = theta.length;
  const ec = Math.exp(theta[0]);
  const u = theta.slice(1);
  const A = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const g = new Array<number>(p).fill(0);
  const J = new Array<number>(p);
  for (let n = 0; n < y.length; n++) {
    const e = Math.exp(dot(u, W[n]));
    const r = y[n] - ec - e;
    const omega = Math.abs(r) <= delta ? 1 : delta / Math.abs(r);
    J[0] = ec;
    for (let j = 0; j < u.length; j++) J[j + 1] = W[n][j] * e;
    for (let i = 0; i < p; i++) {
      g[i] += omega * J[i] * r;
      for (let k = i; k < p; k++) A[i][k] += omega * J[i] * J[k];
    }
  }
  for (let i = 0; i < p; i++) for (let k = 0; k < i; k++) A[i][k] = A[k][i];
  for (let i = 0; i < p; i++) A[i][i] += mu * (A[i][i] + 1e-9);
  return solve(A, g);
}

/** Levenberg–Marquardt on the Huber loss from theta; returns the converged parameters and loss. */
function minimise(theta0: readonly number[], W: readonly number[][], y: readonly number[], delta: number, maxIterations: number): { theta: number[]; loss: number } {
  let theta = [...theta0];
  let loss = lossAt(theta, W, y, delta);
  let mu = 1e-3;
  for (let it = 0; it < maxIterations && mu < 1e12; it++) {
    const step = lmStep(theta, W, y, delta, mu);
    const next = step ? theta.map((x, i) => x + step[i]) : null;
    const nextLoss = next ? lossAt(next, W, y, delta) : Infinity;
    if (next && nextLoss < loss) {
      const gain = loss - nextLoss;
      theta = next;
      loss = nextLoss;
      mu = Math.max(mu / 3, 1e-12);
      if (gain <= 1e-15 * (1 + loss)) break;
    } else {
      mu *= 4;
    }
  }
  return { theta, loss };
}

/** Starting points: the log-regression start for two levels of c, then seeded perturbations. */
function startingPoints(W: readonly number[][], y: readonly number[], count: number, seed: number): number[][] {
  const k = W[0].length;
  const yMin = Math.min(...y);
  const spread = Math.max(Math.max(...y) - yMin, 1e-9 * Math.abs(yMin), 1e-12);
  const logRegression = (c: number): number[] => {
    const z = y.map((v) => Math.log(Math.max(v - Math.exp(c), 1e-3 * spread)));
    const A = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => W.reduce((s, w) => s + w[i] * w[j], 0) + (i === j ? 1e-6 : 0)));
    const rhs = Array.from({ length: k }, (_, i) => W.reduce((s, w, n) => s + w[i] * z[n], 0));
    return [c, ...(solve(A, rhs) ?? new Array<number>(k).fill(mean(z)))];
  };
  const floor = (frac: number) => Math.log(Math.max(frac * yMin, 1e-12));
  const starts = [logRegression(floor(0.5)), logRegression(floor(0.9))];
  const rng = new Random(seed, 3);
  while (starts.length < count) {
    const base = logRegression(floor(0.05 + 0.9 * rng.uniform()));
    starts.push(base.map((x, i) => (i === 0 ? x : x + rng.normal())));
  }
  return starts.slice(0, Math.max(1, count));
}

function residualsAt(theta: readonly number[], W: readonly number[][], y: readonly number[]): number[] {
  const law = toLaw(theta);
  return y.map((v, n) => v - predictLaw(law, W[n]));
}

/** Fits the law to (W, y) with a Huber loss and several starts. `W` rows are mixtures (Σ = 1). */
export function fitLaw(W: readonly number[][], y: readonly number[], opts: LawFitOptions = {}): LawFit {
  const maxIterations = opts.maxIterations ?? MAX_ITERATIONS;
  const leastSquares = startingPoints(W, y, opts.starts ?? 8, opts.seed ?? 0).map((s) => minimise(s, W, y, Infinity, maxIterations));
  let best = leastSquares.reduce((a, b) => (b.loss < a.loss ? b : a));
  let fits = leastSquares;
  let delta = Infinity;
  // Outliers inflate the least-squares residuals and so δ: re-estimate δ from the robust fit's
  // residuals and refit, until δ settles.
  for (let round = 0; round < SCALE_ROUNDS; round++) {
    const scale = 1.4826 * medianAbsoluteDeviation(residualsAt(best.theta, W, y));
    const next = Math.max(1.345 * scale, 1e-9 * mean(y.map(Math.abs)), 1e-15);
    if (Math.abs(next - delta) <= 0.01 * next) break;
    delta = next;
    fits = fits.map((s) => minimise(s.theta, W, y, delta, maxIterations));
    best = fits.reduce((a, b) => (b.loss < a.loss ? b : a));
  }
  return summarise(best.theta, W, y, delta, lossAt(best.theta, W, y, delta));
}

/** Refits from a known law with a fixed δ (one start): the bootstrap's cheap refit. */
export function refitLaw(W: readonly number[][], y: readonly number[], from: LogLinearLaw, delta: number, maxIterations = MAX_ITERATIONS): LawFit {
  const { theta, loss } = minimise(toTheta(from), W, y, delta, maxIterations);
  return summarise(theta, W, y, delta, loss);
}

function summarise(theta: number[], W: readonly number[][], y: readonly number[], delta: number, loss: number): LawFit {
  const r = residualsAt(theta, W, y);
  return { law: toLaw(theta), delta, loss, rmse: Math.sqrt(mean(r.map((x) => x * x))) };
}
