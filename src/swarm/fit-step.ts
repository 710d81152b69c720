/**
 * The fit step: gathers every proxy's measured bits per byte, runs the analysis (laws, out-of-fold
 * ρ and regret@1, the gate, the proposal for each λ, the candidate cross-check, the bootstrap) and
 * returns it as plain JSON keyed by source name, together with the verification mixtures of the
 * proposal (one per seed), or `{skipped}` entries when the gate stops it.
 */
import { step, type Step } from "../graph/step.ts";
import { versioned } from "../graph/versioned.ts";
import { analyseSwarm, type AnalysisOptions, type RankedProposal, type SwarmAnalysis } from "./analysis.ts";
import { SwarmInputError } from "./errors.ts";
import { epochsAt, isFeasible } from "./feasible.ts";
import type { SwarmInventory } from "./inventory.ts";
import { predictObjective } from "./proposer.ts";
import { HIGH_QUALITY_ID, PROPORTIONAL_ID, PROPOSAL_ID, planFeasibleSet, type ProxyMixture, type SwarmPlan } from "./plan.ts";
import { isSkipped, type ProxyEvalResult, type SkippedProxy } from "./proxies.ts";
import { standardDeviation } from "./stats.ts";

export interface FitStepOptions extends AnalysisOptions {
  /** Weight of each target source in the objective (normalised); the objective is their weighted bits per byte. */
  targets: Record<string, number>;
  seeds: number;
  temperature: number;
  /** [lo, hi] of the swarm's concentration range (the cross-check draws candidates like the swarm). */
  concentration: number[];
}

type Named = Record<string, number>;
type Interval = [number, number];

export interface ProposalSummary {
  lambda: number;
  weights: Named;
  predicted: number;
  kl: number;
  kktResidual: number;
  iterations: number;
}

export interface SwarmFitResult {
  status: "proposed" | "insufficient-signal";
  reason: string;
  objective: { name: string; targets: Named };
  fit: {
    law: string;
    loss: string;
    runs: number;
    starts: number;
    folds: number;
    gate: number;
    outOfFoldSpearman: number;
    regretAt1: number;
    pickedRun: string;
    bestRun: string;
    metrics: Record<string, { c: number; b: number; t: Named; delta: number; rmse: number; outOfFoldSpearman: number }>;
  };
  /** Per proxy: out-of-fold prediction (fit runs), full-fit prediction and measured objective. */
  predictions: Record<string, { outOfFold: number | null; full: number; measured: number }>;
  /** Spread of the objective over the proportional mixture's seeds. */
  seedNoise: { runs: string[]; values: number[]; standardDeviation: number };
  baselines: Record<string, { weights: Named; predicted: number }>;
  proposal: ProposalSummary | null;
  alternatives: ProposalSummary[];
  crossCheck: null | { candidates: number; top: number; topMean: Named; topMeanPredicted: number; topMeanValue: number; bestCandidateValue: number; proposalValue: number; distance: number };
  bootstrap: null | { resamples: number; level: number; weights: Record<string, Interval>; predicted: Interval; gains: Record<string, Interval> };
  mixtures: Record<string, ProxyMixture | SkippedProxy>;
}

export const OBJECTIVE_NAME = "macro bits per byte";

const byName = <T>(sources: string[], values: readonly T[]): Record<string, T> => Object.fromEntries(sources.map((s, j) => [s, values[j]]));
const vector = (sources: string[], named: Named) => sources.map((s) => named[s] ?? 0);

function summariseProposal(p: RankedProposal, sources: string[]): ProposalSummary {
  return { lambda: p.lambda, weights: byName(sources, p.weights), predicted: p.predicted, kl: p.kl, kktResidual: p.kktResidual, iterations: p.iterations };
}

/** Measured bits per byte of each source for a proxy, in source order. */
function metricsOf(id: string, evaluation: ProxyEvalResult, sources: string[]): number[] {
  if (isSkipped(evaluation)) throw new SwarmInputError(`proxy ${id} was not trained (${evaluation.skipped})`, "every swarm proxy must train; rerun the swarm");
  return sources.map((s) => {
    const v = evaluation.sources[s]?.bpb;
    if (v === undefined) throw new SwarmInputError(`proxy ${id}'s eval has no bits per byte for source '${s}'`, "rerun the proxy's eval step");
    return v;
  });
}

function verificationMixtures(analysis: SwarmAnalysis, plan: SwarmPlan, inventory: SwarmInventory, seed: number, seeds: number): Record<string, ProxyMixture | SkippedProxy> {
  const out: Record<string, ProxyMixture | SkippedProxy> = {};
  const sources = plan.sources;
  for (let i = 0; i < seeds; i++) {
    const p = analysis.proposal;
    if (!p) {
      out[PROPOSAL_ID(i)] = { skipped: analysis.reason };
      continue;
    }
    const set = planFeasibleSet(plan, inventory.available);
    out[PROPOSAL_ID(i)] = {
      role: "replicate",
      seed: seed + i,
      weights: byName(sources, p.weights),
      maxTokens: plan.feasible.proxyMaxTokens,
      epochs: byName(sources, epochsAt(p.weights, set.available, set.targetTokens)),
      withinCaps: isFeasible(p.weights, set),
    };
  }
  return out;
}

export function fitResult(plan: SwarmPlan, inventory: SwarmInventory, evals: Record<string, ProxyEvalResult>, opts: FitStepOptions): SwarmFitResult {
  const sources = plan.sources;
  const ids = Object.keys(plan.mixtures);
  const fitIds = ids.filter((id) => plan.mixtures[id].role !== "replicate");
  const targetTotal = Object.values(opts.targets).reduce((a, b) => a + b, 0);
  const objectiveWeights = sources.map((s) => (opts.targets[s] ?? 0) / targetTotal);
  const measuredOf = (id: string) => metricsOf(id, evals[id], sources).reduce((a, v, i) => a + objectiveWeights[i] * v, 0);
  const set = planFeasibleSet(plan, inventory.available);
  const q = vector(sources, plan.naturalShare);
  const baselines = { proportional: q, "high-quality": vector(sources, plan.mixtures[HIGH_QUALITY_ID(0)].weights) };
  const analysis = analyseSwarm(
    {
      sources,
      q,
      set,
      distribution: { q, temperature: opts.temperature, concentration: [opts.concentration[0], opts.concentration[1]] },
      runs: fitIds.map((id) => ({ id, weights: vector(sources, plan.mixtures[id].weights), metrics: metricsOf(id, evals[id], sources) })),
      objectiveWeights,
      baselines,
    },
    opts,
  );
  const { cv, fits } = analysis;
  const predictions: SwarmFitResult["predictions"] = {};
  fitIds.forEach((id, n) => (predictions[id] = { outOfFold: cv.oofObjective[n], full: analysis.fullPredictions[n], measured: analysis.measured[n] }));
  const objective = { laws: fits.map((f) => f.law), weights: objectiveWeights };
  for (const id of ids.filter((x) => !fitIds.includes(x))) {
    predictions[id] = { outOfFold: null, full: predictObjective(objective, vector(sources, plan.mixtures[id].weights)), measured: measuredOf(id) };
  }
  const noiseRuns = Array.from({ length: opts.seeds }, (_, i) => PROPORTIONAL_ID(i));
  const noiseValues = noiseRuns.map(measuredOf);
  const check = analysis.crossCheck;
  const boot = analysis.bootstrap;
  return {
    status: analysis.status,
    reason: analysis.reason,
    objective: { name: OBJECTIVE_NAME, targets: byName(sources, objectiveWeights) },
    fit: {
      law: "y = exp(c) + exp(b + w·t), Σt = 0",
      loss: "huber",
      runs: fitIds.length,
      starts: opts.starts,
      folds: cv.folds,
      gate: opts.gate,
      outOfFoldSpearman: cv.spearman,
      regretAt1: cv.regretAt1,
      pickedRun: fitIds[cv.pickedRun],
      bestRun: fitIds[cv.bestRun],
      metrics: byName(
        sources,
        fits.map((f, i) => ({ c: f.law.c, b: f.law.b, t: byName(sources, f.law.t), delta: f.delta, rmse: f.rmse, outOfFoldSpearman: cv.metricSpearman[i] })),
      ),
    },
    predictions,
    seedNoise: { runs: noiseRuns, values: noiseValues, standardDeviation: standardDeviation(noiseValues) },
    baselines: Object.fromEntries(Object.entries(baselines).map(([name, w]) => [name, { weights: byName(sources, w), predicted: analysis.baselinePredictions[name] }])),
    proposal: analysis.proposal ? summariseProposal(analysis.proposal, sources) : null,
    alternatives: analysis.alternatives.map((p) => summariseProposal(p, sources)),
    crossCheck: check && analysis.proposal ? { ...check, topMean: byName(sources, check.topMean), proposalValue: analysis.proposal.value } : null,
    bootstrap: boot ? { resamples: boot.resamples, level: boot.level, weights: byName(sources, boot.weights), predicted: boot.predicted, gains: boot.gains } : null,
    mixtures: verificationMixtures(analysis, plan, inventory, plan.mixtures[PROPORTIONAL_ID(0)].seed, opts.seeds),
  };
}

export function fitStep(opts: {
  name: string;
  plan: Step<any, SwarmPlan, any>;
  inventory: Step<any, SwarmInventory, any>;
  evals: Record<string, Step<any, ProxyEvalResult, any>>;
  settings: FitStepOptions;
}) {
  const PLAN = "__plan";
  const INVENTORY = "__inventory";
  const inputs: Record<string, Step<any, SwarmPlan | SwarmInventory | ProxyEvalResult, any>> = { ...opts.evals, [PLAN]: opts.plan, [INVENTORY]: opts.inventory };
  return step({
    name: opts.name,
    config: { settings: versioned(opts.settings) },
    inputs,
    run: async (ctx): Promise<SwarmFitResult> => {
      const plan = ctx.inputs[PLAN].result;
      const inventory = ctx.inputs[INVENTORY].result;
      if (!("mixtures" in plan) || !("available" in inventory)) throw new SwarmInputError(`${ctx.name}: plan or inventory input has the wrong shape`, "build the swarm with mixtureSwarm()");
      const evals: Record<string, ProxyEvalResult> = {};
      for (const id of Object.keys(plan.mixtures)) {
        const r = ctx.inputs[id]?.result;
        if (!r || !("macroBpb" in r || "skipped" in r)) throw new SwarmInputError(`${ctx.name}: no eval result for proxy ${id}`, "build the swarm with mixtureSwarm()");
        evals[id] = r;
      }
      const result = fitResult(plan, inventory, evals, ctx.config.settings);
      ctx.log(result.reason);
      await ctx.writeFile("fit.json", JSON.stringify(result, null, 2) + "\n");
      return result;
    },
  });
}
