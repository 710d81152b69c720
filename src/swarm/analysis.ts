/**
 * The numerical heart of the swarm, as one pure function of the measured runs: fit every metric's
 * law (Huber, several starts), cross-validate (out-of-fold ρ, regret@1), apply the signal gate,
 * and, when the fit passes it, propose the mixture for the main λ and the alternative λs, check it
 * against the best random feasible candidates, and bootstrap its intervals. Nothing here reads
 * files or steps, so the tests feed it synthetic laws.
 */
import { bootstrapProposal, type BootstrapResult } from "./bootstrap.ts";
import { isFeasible, type FeasibleSet } from "./feasible.ts";
import { predictLaw, type LawFit } from "./law.ts";
import { crossCheck, predictObjective, propose, type CandidateCheck, type LawObjective, type Proposal } from "./proposer.ts";
import { feasibleCandidates, type MixtureDistribution } from "./sampler.ts";
import { crossValidate, fitAll, measuredObjective, objectiveOf, type CrossValidation, type FitData } from "./validation.ts";
import { SwarmInputError } from "./errors.ts";

export interface AnalysisOptions {
  starts: number;
  folds: number;
  /** Out-of-fold Spearman ρ below this: insufficient signal, nothing proposed. */
  gate: number;
  lambda: number;
  /** Other λs whose proposals are reported alongside. */
  alternativeLambdas: number[];
  candidates: number;
  top: number;
  resamples: number;
  level: number;
  seed: number;
}

export interface AnalysisRun {
  id: string;
  /** Mixture in source order. */
  weights: number[];
  /** Measured metrics, one per law (objectiveWeights order). */
  metrics: number[];
}

export interface AnalysisInput {
  sources: string[];
  q: number[];
  set: FeasibleSet;
  distribution: MixtureDistribution;
  runs: AnalysisRun[];
  objectiveWeights: number[];
  /** Mixtures the proposal's predicted gain is measured against (e.g. proportional, high-quality). */
  baselines: Record<string, number[]>;
}

export interface RankedProposal extends Proposal {
  lambda: number;
}

export interface SwarmAnalysis {
  status: "proposed" | "insufficient-signal";
  reason: string;
  fits: LawFit[];
  cv: CrossValidation;
  /** In-sample prediction of the objective per run. */
  fullPredictions: number[];
  measured: number[];
  proposal: RankedProposal | null;
  alternatives: RankedProposal[];
  crossCheck: CandidateCheck | null;
  bootstrap: BootstrapResult | null;
  /** Predicted objective of each baseline under the full fit. */
  baselinePredictions: Record<string, number>;
}

/** Rounds a mixture to 6 decimals, keeping the sum 1 and the bounds (the rounding error goes to the roomiest weight). */
export function roundMixture(w: readonly number[], set: FeasibleSet): number[] {
  const r = w.map((x) => Math.round(x * 1e6) / 1e6);
  const gap = Math.round((1 - r.reduce((a, b) => a + b, 0)) * 1e6) / 1e6;
  if (gap !== 0) {
    const room = r.map((x, j) => (gap > 0 ? set.caps[j] - x : x - set.minWeight));
    const j = room.indexOf(Math.max(...room));
    r[j] = Math.round((r[j] + gap) * 1e6) / 1e6;
  }
  return isFeasible(r, set) ? r : [...w];
}

function checkRuns(input: AnalysisInput): void {
  for (const run of input.runs) {
    const bad = run.metrics.findIndex((v) => !Number.isFinite(v) || v <= 0);
    if (bad >= 0) {
      throw new SwarmInputError(
        `proxy ${run.id}: metric ${bad} is ${run.metrics[bad]}, not a positive number`,
        "check the proxy's eval step output (bits per byte must be positive and finite)",
      );
    }
  }
  const params = input.sources.length + 1;
  if (input.runs.length < params + 2) {
    throw new SwarmInputError(
      `${input.runs.length} runs cannot fit a law with ${params} parameters per metric and cross-validate it`,
      `run at least ${params + 2} proxies (a larger swarm)`,
    );
  }
}

function proposeAt(objective: LawObjective, input: AnalysisInput, lambda: number): RankedProposal {
  const raw = propose(objective, { q: input.q, lambda, set: input.set });
  const weights = roundMixture(raw.weights, input.set);
  const predicted = predictObjective(objective, weights);
  return { ...raw, weights, predicted, value: raw.value + (predicted - raw.predicted), lambda };
}

export function analyseSwarm(input: AnalysisInput, opts: AnalysisOptions): SwarmAnalysis {
  checkRuns(input);
  const data: FitData = { W: input.runs.map((r) => r.weights), Y: input.runs.map((r) => r.metrics), objectiveWeights: input.objectiveWeights };
  const settings = { starts: opts.starts, folds: opts.folds, seed: opts.seed };
  const fits = fitAll(data, settings);
  const objective = objectiveOf(fits, data);
  const cv = crossValidate(data, settings);
  const fullPredictions = data.W.map((w) => fits.reduce((s, f, i) => s + data.objectiveWeights[i] * predictLaw(f.law, w), 0));
  const baselinePredictions = Object.fromEntries(Object.entries(input.baselines).map(([name, w]) => [name, predictObjective(objective, w)]));
  const base = { fits, cv, fullPredictions, measured: measuredObjective(data), baselinePredictions };
  const numbers = `out-of-fold Spearman ρ ${cv.spearman.toFixed(3)} over ${data.W.length} runs (gate ${opts.gate}), regret@1 ${cv.regretAt1.toFixed(4)}`;
  if (!(cv.spearman >= opts.gate)) {
    return { ...base, status: "insufficient-signal", reason: `insufficient signal: ${numbers}; nothing proposed`, proposal: null, alternatives: [], crossCheck: null, bootstrap: null };
  }
  const proposal = proposeAt(objective, input, opts.lambda);
  const alternatives = opts.alternativeLambdas.map((lambda) => proposeAt(objective, input, lambda));
  const candidates = feasibleCandidates(input.distribution, input.set, opts.candidates, opts.seed);
  const check = candidates.length ? crossCheck(objective, { q: input.q, lambda: opts.lambda, set: input.set }, proposal, candidates, opts.top) : null;
  const bootstrap =
    opts.resamples > 0
      ? bootstrapProposal(data, fits, proposal.weights, input.baselines, { resamples: opts.resamples, level: opts.level, seed: opts.seed, q: input.q, lambda: opts.lambda, set: input.set })
      : null;
  return { ...base, status: "proposed", reason: `proposed: ${numbers}`, proposal, alternatives, crossCheck: check, bootstrap };
}

