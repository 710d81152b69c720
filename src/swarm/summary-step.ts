/**
 * The summary step: reads the verification runs (the proposal, proportional and high-quality
 * mixtures, each with the same seeds), computes the paired gains and their standard errors,
 * decides acceptance, writes mixture.json, and returns the run report's mixture-swarm shape
 * (every proxy's predicted and measured objective, the proposal with its intervals) plus the
 * status, the fit's quality and the verification table.
 */
import { step, type Step } from "../graph/step.ts";
import { versioned } from "../graph/versioned.ts";
import { MIXTURE_SWARM_KIND, type MixtureSwarmResult } from "../report/results.ts";
import { SwarmInputError } from "./errors.ts";
import type { SwarmFitResult } from "./fit-step.ts";
import type { SwarmInventory } from "./inventory.ts";
import { mixtureFileText, type SwarmStatus, type Verification } from "./mixture-file.ts";
import { HIGH_QUALITY_ID, PROPORTIONAL_ID, PROPOSAL_ID, type SwarmPlan } from "./plan.ts";
import { isSkipped, type ProxyEvalResult } from "./proxies.ts";
import { accepted, pairedGain } from "./verify.ts";

export const MIXTURE_FILE = "mixture.json";

export interface MixtureSwarmSummary extends MixtureSwarmResult {
  status: SwarmStatus;
  accepted: boolean;
  reason: string;
  fit: { runs: number; outOfFoldSpearman: number; regretAt1: number; gate: number; seedNoise: number };
  verification: Verification;
  /** mixture.json, relative to the step's output folder. */
  mixtureFile: string;
  configHash: string;
}

/** Verification runs by baseline name (the proposal is "proposal"), in seed order. */
export const VERIFICATION_RUNS: Record<string, (seedIndex: number) => string> = {
  proposal: PROPOSAL_ID,
  proportional: PROPORTIONAL_ID,
  "high-quality": HIGH_QUALITY_ID,
};

function objectiveOf(id: string, r: ProxyEvalResult, targets: Record<string, number>): number | null {
  if (isSkipped(r)) return null;
  let total = 0;
  for (const [s, w] of Object.entries(targets)) {
    const v = r.sources[s]?.bpb;
    if (v === undefined) throw new SwarmInputError(`verification run ${id} has no bits per byte for '${s}'`, "rerun its eval step");
    total += w * v;
  }
  return total;
}

export function verify(fit: SwarmFitResult, evals: Record<string, ProxyEvalResult>, seeds: number[]): { verification: Verification; status: SwarmStatus; reason: string } {
  const measured: Record<string, number[]> = {};
  for (const [name, idOf] of Object.entries(VERIFICATION_RUNS)) {
    const values = seeds.map((_, i) => objectiveOf(idOf(i), evals[idOf(i)], fit.objective.targets));
    if (values.every((v): v is number => v !== null)) measured[name] = values;
  }
  if (!fit.proposal || !measured.proposal) return { verification: { seeds, measured, gains: [] }, status: "insufficient-signal", reason: fit.reason };
  const gains = Object.keys(fit.baselines).map((b) => pairedGain(b, seeds, measured[b], measured.proposal));
  const ok = accepted(gains);
  const described = gains.map((g) => `${g.baseline} ${g.mean >= 0 ? "+" : ""}${g.mean.toFixed(4)} ± ${g.standardError.toFixed(4)}`).join(", ");
  const reason = ok
    ? `accepted: the proposal beats every baseline by more than 2 standard errors (gains ${described})`
    : `not accepted: the proposal does not beat ${gains.filter((g) => !g.beats).map((g) => g.baseline).join(" and ")} by more than 2 standard errors (gains ${described})`;
  return { verification: { seeds, measured, gains }, status: ok ? "accepted" : "not-accepted", reason };
}

export function summaryResult(inventory: SwarmInventory, plan: SwarmPlan, fit: SwarmFitResult, evals: Record<string, ProxyEvalResult>, seedCount: number) {
  const seeds = Array.from({ length: seedCount }, (_, i) => plan.mixtures[PROPORTIONAL_ID(i)].seed);
  const { verification, status, reason } = verify(fit, evals, seeds);
  const proxies: MixtureSwarmResult["proxies"] = Object.entries(plan.mixtures).map(([id, m]) => {
    const p = fit.predictions[id];
    return { name: id, weights: m.weights, predicted: p.outOfFold ?? p.full, measured: p.measured };
  });
  const proposal = fit.proposal;
  if (proposal) {
    (verification.measured.proposal ?? []).forEach((v, i) => proxies.push({ name: PROPOSAL_ID(i), weights: proposal.weights, predicted: proposal.predicted, measured: v }));
  }
  const text = mixtureFileText({ inventory, plan, fit, verification, status, reason });
  const result: MixtureSwarmSummary = {
    kind: MIXTURE_SWARM_KIND,
    objective: fit.objective.name,
    sources: plan.sources,
    proxies,
    proposed: {
      weights: proposal?.weights ?? {},
      intervals: fit.bootstrap?.weights,
      predicted: proposal?.predicted,
      predictedInterval: fit.bootstrap?.predicted,
    },
    status,
    accepted: status === "accepted",
    reason,
    fit: { runs: fit.fit.runs, outOfFoldSpearman: fit.fit.outOfFoldSpearman, regretAt1: fit.fit.regretAt1, gate: fit.fit.gate, seedNoise: fit.seedNoise.standardDeviation },
    verification,
    mixtureFile: MIXTURE_FILE,
    configHash: plan.configHash,
  };
  return { result, text };
}

export function summaryStep(opts: {
  name: string;
  inventory: Step<any, SwarmInventory, any>;
  plan: Step<any, SwarmPlan, any>;
  fit: Step<any, SwarmFitResult, any>;
  verification: Record<string, Step<any, ProxyEvalResult, any>>;
  seeds: number;
}) {
  const inputs: Record<string, Step<any, SwarmInventory | SwarmPlan | SwarmFitResult | ProxyEvalResult, any>> = {
    ...opts.verification,
    __inventory: opts.inventory,
    __plan: opts.plan,
    __fit: opts.fit,
  };
  return step({
    name: opts.name,
    config: { seeds: versioned(opts.seeds), format: versioned(MIXTURE_FILE) },
    inputs,
    run: async (ctx): Promise<MixtureSwarmSummary> => {
      const inventory = ctx.inputs.__inventory.result;
      const plan = ctx.inputs.__plan.result;
      const fit = ctx.inputs.__fit.result;
      if (!("available" in inventory) || !("mixtures" in plan && "configHash" in plan) || !("fit" in fit)) {
        throw new SwarmInputError(`${ctx.name}: inventory, plan or fit input has the wrong shape`, "build the swarm with mixtureSwarm()");
      }
      const evals: Record<string, ProxyEvalResult> = {};
      for (const [id, input] of Object.entries(ctx.inputs)) {
        const r = input.result;
        if (!id.startsWith("__") && ("macroBpb" in r || "skipped" in r)) evals[id] = r;
      }
      const { result, text } = summaryResult(inventory, plan, fit, evals, ctx.config.seeds);
      await ctx.writeFile(MIXTURE_FILE, text);
      ctx.log(result.reason);
      return result;
    },
  });
}
