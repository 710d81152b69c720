/**
 * mixture.json: the swarm's outcome as one deterministic file. Sources come in a fixed (sorted)
 * order, and every per-source value sits in that source's entry or in an array in that order, so
 * nothing depends on key order. It holds the weights (with bootstrap intervals), tokens available,
 * target tokens, simulated epochs and caps per source, the baselines (predicted and measured), the
 * verification gains, the fit (law, parameters, out-of-fold ρ, regret@1), λ and its alternatives,
 * the seeds, the hash of the swarm's configs and the data version, and whether it was accepted.
 * Numbers are written with 8 significant digits, so the same inputs give the same bytes.
 */
import type { SwarmFitResult } from "./fit-step.ts";
import type { SwarmInventory } from "./inventory.ts";
import type { SwarmPlan } from "./plan.ts";
import type { PairedGain } from "./verify.ts";

export const MIXTURE_FORMAT = "kiln-mixture/1";

export type SwarmStatus = "accepted" | "not-accepted" | "insufficient-signal";

export interface Verification {
  seeds: number[];
  /** Measured objective per run id, in seed order. */
  measured: Record<string, number[]>;
  gains: PairedGain[];
}

export interface MixtureFileInput {
  inventory: SwarmInventory;
  plan: SwarmPlan;
  fit: SwarmFitResult;
  verification: Verification | null;
  status: SwarmStatus;
  reason: string;
}

function round(value: unknown): unknown {
  return typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(8)) : value;
}

function sourceEntries(input: MixtureFileInput) {
  const { plan, fit, inventory } = input;
  const proposal = fit.proposal;
  return plan.sources.map((s) => {
    const weight = proposal ? proposal.weights[s] : null;
    return {
      name: s,
      weight,
      interval: fit.bootstrap?.weights[s] ?? null,
      naturalShare: plan.naturalShare[s],
      tokensAvailable: inventory.available[s],
      targetTokens: weight === null ? null : Math.round(weight * plan.feasible.targetTokens),
      epochs: weight === null ? null : (weight * plan.feasible.targetTokens) / inventory.available[s],
      cap: plan.feasible.caps[s],
      heldOutTokens: inventory.heldOut[s].tokens,
    };
  });
}

function baselineEntries(input: MixtureFileInput) {
  const { plan, fit, verification } = input;
  return Object.entries(fit.baselines).map(([name, b]) => ({
    name,
    weights: plan.sources.map((s) => b.weights[s]),
    predicted: b.predicted,
    measured: verification?.measured[name] ?? null,
  }));
}

function fitEntry(input: MixtureFileInput) {
  const { plan, fit } = input;
  return {
    law: fit.fit.law,
    loss: fit.fit.loss,
    runs: fit.fit.runs,
    starts: fit.fit.starts,
    folds: fit.fit.folds,
    gate: fit.fit.gate,
    outOfFoldSpearman: fit.fit.outOfFoldSpearman,
    regretAt1: fit.fit.regretAt1,
    pickedRun: fit.fit.pickedRun,
    bestRun: fit.fit.bestRun,
    seedNoise: fit.seedNoise.standardDeviation,
    metrics: plan.sources.map((s) => {
      const m = fit.fit.metrics[s];
      return { source: s, c: m.c, b: m.b, t: plan.sources.map((x) => m.t[x]), delta: m.delta, rmse: m.rmse, outOfFoldSpearman: m.outOfFoldSpearman };
    }),
  };
}

/** The mixture file's object, keys in a fixed order. */
export function mixtureDocument(input: MixtureFileInput) {
  const { plan, fit, verification } = input;
  const order = (named: Record<string, number>) => plan.sources.map((s) => named[s]);
  return {
    format: MIXTURE_FORMAT,
    status: input.status,
    accepted: input.status === "accepted",
    reason: input.reason,
    objective: { name: fit.objective.name, targets: order(fit.objective.targets) },
    sources: sourceEntries(input),
    targetTokens: plan.feasible.targetTokens,
    maxEpochs: plan.feasible.maxEpochs,
    minWeight: plan.feasible.minWeight,
    lambda: fit.proposal?.lambda ?? null,
    predicted: fit.proposal?.predicted ?? null,
    predictedInterval: fit.bootstrap?.predicted ?? null,
    alternatives: fit.alternatives.map((a) => ({ lambda: a.lambda, weights: order(a.weights), predicted: a.predicted })),
    baselines: baselineEntries(input),
    verification: verification
      ? {
          seeds: verification.seeds,
          proposal: verification.measured.proposal ?? null,
          gains: verification.gains.map((g) => ({ baseline: g.baseline, perSeed: g.gains, mean: g.mean, standardError: g.standardError, beats: g.beats })),
          rule: "accepted when the mean paired gain over every baseline exceeds 2 standard errors",
        }
      : null,
    predictedGains: fit.bootstrap ? Object.entries(fit.bootstrap.gains).map(([baseline, interval]) => ({ baseline, interval })) : null,
    fit: fitEntry(input),
    crossCheck: fit.crossCheck ? { candidates: fit.crossCheck.candidates, top: fit.crossCheck.top, topMean: order(fit.crossCheck.topMean), distance: fit.crossCheck.distance } : null,
    bootstrap: fit.bootstrap ? { resamples: fit.bootstrap.resamples, level: fit.bootstrap.level } : null,
    seeds: { swarm: plan.mixtures["proportional-s0"]?.seed ?? null, verification: verification?.seeds ?? null },
    swarm: {
      size: plan.sampling.size,
      proxies: Object.keys(plan.mixtures).length,
      proxyTokens: plan.feasible.proxyTokens,
      proxyMaxTokens: order(plan.feasible.proxyMaxTokens),
      draws: plan.sampling.draws,
      configHash: plan.configHash,
      dataVersion: plan.dataVersion,
    },
  };
}

/** The file's text: 2-space JSON with 8 significant digits, ending in a newline. */
export function mixtureFileText(input: MixtureFileInput): string {
  return JSON.stringify(mixtureDocument(input), (_key, value: unknown) => round(value), 2) + "\n";
}
