/**
 * `mixtureSwarm({...})`: the mixture search as ordinary steps. inventory (tokens per source, the
 * natural share, the held-out splits) → plan (feasible set, sampled swarm, anchors, seeds) → one
 * train and one eval step per proxy → fit (laws, out-of-fold ρ, regret@1, gate, proposal, cross-
 * check, bootstrap) → the proposal trained with every verification seed → summary (paired gains,
 * acceptance, mixture.json). Every step is cached by version and the proxies' train steps resume
 * from their checkpoints; the proportional and high-quality proxies with the verification seeds
 * are the same steps as the noise anchors, so verification trains only the proposal.
 */
import { step, type AnyStep, type Step } from "../graph/step.ts";
import { versioned } from "../graph/versioned.ts";
import type { TokenizedResult } from "../steps/tokenize/result.ts";
import type { TrainHyperparameters } from "../steps/train/train-step.ts";
import { SwarmConfigError, SwarmInputError } from "./errors.ts";
import { fitStep, type FitStepOptions } from "./fit-step.ts";
import { inventoryOf, type SwarmInventory } from "./inventory.ts";
import { PROPOSAL_ID, checkSettings, planIds, planSwarm, type SwarmPlan, type SwarmSettings } from "./plan.ts";
import { proxyEvalStep, proxyTrainStep, type MixtureSource, type ProxyEvalResult, type ProxyTrainResult } from "./proxies.ts";
import { VERIFICATION_RUNS, summaryStep } from "./summary-step.ts";

export interface MixtureSwarmOptions {
  /** Prefix of every step's name (e.g. "swarm"). */
  name: string;
  /** Tokenized sources by name (one tokenizer). */
  data: Record<string, Step<any, TokenizedResult, any>>;
  /** The hand-picked high-quality subset: a baseline the proposal must beat. */
  highQuality: string[];
  proxy: {
    /** Model, optimizer, schedule, seq_len and train.steps / batch_size of every proxy; the seed comes from `seed`. */
    hyperparameters: TrainHyperparameters;
    /** Held-out tokens scored per source (default 16,384). */
    evalTokens?: number;
    /** Torch threads per proxy (default 1: proxies run side by side). */
    threads?: number;
    device?: "auto" | "cpu" | "cuda";
  };
  /** Tokens of the run the mixture is for (default: one proxy's tokens). */
  targetTokens?: number;
  /** Repetition cap E_max (default 4). */
  maxEpochs?: number;
  /** Minimum weight of every source in sampled and proposed mixtures (default 0.01). */
  minWeight?: number;
  /** Sampled swarm runs (default max(24, 6 · sources)). */
  swarmSize?: number;
  /** τ (default 0.5). */
  temperature?: number;
  /** Log-uniform range of the concentration per source (default [0.1, 5]). */
  concentration?: [number, number];
  /** Near-duplicate distance, in total variation (default 0.02). */
  minDistance?: number;
  seed?: number;
  /** Seeds for the noise anchors and the verification (default 3). */
  seeds?: number;
  /** Target sources and their weights in the objective (default: every source, equally: macro bits per byte). */
  objective?: Record<string, number>;
  /** Out-of-fold Spearman ρ gate (default 0.8). */
  gate?: number;
  starts?: number;
  folds?: number;
  /** KL pull towards the natural mixture (default 0.05); the alternatives are reported too (default [0.01, 0.1]). */
  lambda?: number;
  alternativeLambdas?: number[];
  candidates?: { count?: number; top?: number };
  bootstrap?: { resamples?: number; level?: number };
}

export interface ProxySteps {
  train: Step<any, ProxyTrainResult, any>;
  eval: Step<any, ProxyEvalResult, any>;
}

export interface MixtureSwarm {
  inventory: Step<any, SwarmInventory, any>;
  plan: Step<any, SwarmPlan, any>;
  proxies: Record<string, ProxySteps>;
  fit: ReturnType<typeof fitStep>;
  /** The proposal's runs, one per verification seed. */
  verification: Record<string, ProxySteps>;
  summary: ReturnType<typeof summaryStep>;
  steps: AnyStep[];
}

/** Optimizer steps · batch · sequence length, with the kernel's defaults (200, 4, 256). */
export function proxyTokensOf(hp: TrainHyperparameters): number {
  return (hp.train?.steps ?? 200) * (hp.train?.batch_size ?? 4) * (hp.seq_len ?? 256);
}

function settingsOf(opts: MixtureSwarmOptions, sources: string[]): SwarmSettings {
  return {
    size: opts.swarmSize ?? Math.max(24, 6 * sources.length),
    temperature: opts.temperature ?? 0.5,
    concentration: opts.concentration ?? [0.1, 5],
    minDistance: opts.minDistance ?? 0.02,
    minWeight: opts.minWeight ?? 0.01,
    maxEpochs: opts.maxEpochs ?? 4,
    targetTokens: opts.targetTokens ?? null,
    highQuality: [...opts.highQuality].sort(),
    seed: opts.seed ?? 0,
    seeds: opts.seeds ?? 3,
    proxyTokens: proxyTokensOf(opts.proxy.hyperparameters),
    seqLen: opts.proxy.hyperparameters.seq_len ?? 256,
  };
}

function fitSettings(opts: MixtureSwarmOptions, s: SwarmSettings, sources: string[]): FitStepOptions {
  const targets = opts.objective ?? Object.fromEntries(sources.map((x) => [x, 1]));
  const unknown = Object.keys(targets).filter((t) => !sources.includes(t));
  if (unknown.length) throw new SwarmConfigError(`objective source(s) ${unknown.join(", ")} are not among the sources`, `use names from: ${sources.join(", ")}`);
  if (!Object.values(targets).some((w) => w > 0) || Object.values(targets).some((w) => !(w >= 0))) {
    throw new SwarmConfigError("the objective's target weights must be ≥ 0 and not all 0", "give each target source a positive weight");
  }
  return {
    targets: Object.fromEntries(Object.keys(targets).sort().map((k) => [k, targets[k]])),
    seeds: s.seeds,
    temperature: s.temperature,
    concentration: s.concentration,
    starts: opts.starts ?? 8,
    folds: opts.folds ?? 5,
    gate: opts.gate ?? 0.8,
    lambda: opts.lambda ?? 0.05,
    alternativeLambdas: opts.alternativeLambdas ?? [0.01, 0.1],
    candidates: opts.candidates?.count ?? 20_000,
    top: opts.candidates?.top ?? 20,
    resamples: opts.bootstrap?.resamples ?? 200,
    level: opts.bootstrap?.level ?? 0.9,
    seed: s.seed,
  };
}

function inventoryStep(name: string, data: Record<string, Step<any, TokenizedResult, any>>) {
  return step({
    name: `${name}/inventory`,
    inputs: data,
    run: (ctx): SwarmInventory => inventoryOf(Object.fromEntries(Object.entries(ctx.inputs).map(([s, input]) => [s, input.result])), ctx.version),
  });
}

function planStep(name: string, inventory: Step<any, SwarmInventory, any>, settings: SwarmSettings, hyperparameters: TrainHyperparameters, expected: string[]) {
  return step({
    name: `${name}/plan`,
    config: { settings: versioned(settings), hyperparameters: versioned(hyperparameters) },
    inputs: { inventory },
    run: (ctx): SwarmPlan => {
      const s = ctx.config.settings;
      const plan = planSwarm(ctx.inputs.inventory.result, { ...s, concentration: [s.concentration[0], s.concentration[1]] }, ctx.config.hyperparameters);
      const ids = Object.keys(plan.mixtures).sort();
      if (ids.join() !== [...expected].sort().join()) throw new SwarmInputError(`${ctx.name}: the plan's proxies differ from the steps built for it`, "rebuild the swarm's steps with mixtureSwarm()");
      ctx.log(`${plan.sampling.size} swarm mixtures from ${plan.sampling.draws} draws; ${ids.length} proxies; config hash ${plan.configHash.slice(0, 12)}`);
      return plan;
    },
  });
}

export function mixtureSwarm(opts: MixtureSwarmOptions): MixtureSwarm {
  const sources = Object.keys(opts.data).sort();
  const settings = settingsOf(opts, sources);
  checkSettings(sources, settings);
  const hp = opts.proxy.hyperparameters;
  const ids = planIds(sources, settings.highQuality, settings.size, settings.seeds);
  const inventory = inventoryStep(opts.name, opts.data);
  const plan = planStep(opts.name, inventory, settings, hp, [...ids.fit, ...ids.replicates]);
  const proxy = (id: string, mixtures: Step<any, MixtureSource, any>): ProxySteps => {
    const train = proxyTrainStep({ name: `${opts.name}/train/${id}`, data: opts.data, mixtures, key: id, hyperparameters: hp, threads: opts.proxy.threads ?? 1, device: opts.proxy.device });
    const evaluation = proxyEvalStep({ name: `${opts.name}/eval/${id}`, model: train, data: opts.data, maxTokens: opts.proxy.evalTokens ?? 16_384, threads: opts.proxy.threads ?? 1 });
    return { train, eval: evaluation };
  };
  const proxies = Object.fromEntries([...ids.fit, ...ids.replicates].map((id) => [id, proxy(id, plan)]));
  const fit = fitStep({
    name: `${opts.name}/fit`,
    plan,
    inventory,
    evals: Object.fromEntries(Object.entries(proxies).map(([id, p]) => [id, p.eval])),
    settings: fitSettings(opts, settings, sources),
  });
  const verification = Object.fromEntries(Array.from({ length: settings.seeds }, (_, i) => [PROPOSAL_ID(i), proxy(PROPOSAL_ID(i), fit)]));
  const verificationEvals: Record<string, Step<any, ProxyEvalResult, any>> = {};
  for (const idOf of Object.values(VERIFICATION_RUNS)) {
    for (let i = 0; i < settings.seeds; i++) verificationEvals[idOf(i)] = (proxies[idOf(i)] ?? verification[idOf(i)]).eval;
  }
  const summary = summaryStep({ name: `${opts.name}/summary`, inventory, plan, fit, verification: verificationEvals, seeds: settings.seeds });
  const steps: AnyStep[] = [inventory, plan, ...[...Object.values(proxies), ...Object.values(verification)].flatMap((p) => [p.train, p.eval]), fit, summary];
  return { inventory, plan, proxies, fit, verification, summary, steps };
}
