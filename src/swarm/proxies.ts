/**
 * Proxy steps: a train step and an eval step per proxy run, ordinary kiln steps (cached by
 * version, the train step resumable from its checkpoint, runnable wherever steps run). A proxy's
 * weights, token caps and seed are decided at run time by another step (the swarm plan, or the fit
 * for the proposal's verification), whose result holds them under the proxy's key; the proxy's
 * version covers that step's version, so a new plan or fit never reuses an old proxy. A key whose
 * entry is `{skipped: reason}` (no proposal when the fit lacks signal) trains and scores nothing.
 */
import { step, type Step } from "../graph/step.ts";
import { versioned } from "../graph/versioned.ts";
import type { TokenizedResult } from "../steps/tokenize/result.ts";
import { runEvaluation, runTraining, type EvalResult, type TrainHyperparameters, type TrainResult } from "../steps/train/train-step.ts";
import { SwarmInputError } from "./errors.ts";
import type { ProxyMixture } from "./plan.ts";

export interface SkippedProxy {
  skipped: string;
}

/** A step result naming mixtures by proxy key: the swarm plan, or the fit's proposal seeds. */
export interface MixtureSource {
  mixtures: Record<string, ProxyMixture | SkippedProxy>;
}

export type ProxyTrainResult = (TrainResult & { mixture: ProxyMixture }) | SkippedProxy;
export type ProxyEvalResult = EvalResult | SkippedProxy;

const MIXTURES_INPUT = "__mixtures";
const MODEL_INPUT = "__model";

export function isSkipped(r: object): r is SkippedProxy {
  return "skipped" in r && typeof r.skipped === "string";
}

function isTokenized(r: object): r is TokenizedResult {
  return "splits" in r && "tokenizer" in r;
}

function sourceNames(data: Record<string, unknown>, reserved: string): string[] {
  const names = Object.keys(data).sort();
  if (names.includes(reserved)) throw new SwarmInputError(`a source may not be named '${reserved}'`, "rename the source");
  return names;
}

function tokenizedInput(name: string, step: string, input: { stepPath: string; result: object }) {
  const result = input.result;
  if (!isTokenized(result)) throw new SwarmInputError(`input '${name}' of ${step} is not a tokenize step's result`, "pass tokenize steps as the swarm's data");
  return { stepPath: input.stepPath, result };
}

export interface ProxyTrainOptions {
  name: string;
  data: Record<string, Step<any, TokenizedResult, any>>;
  /** The step whose result holds this proxy's mixture under `key`. */
  mixtures: Step<any, MixtureSource, any>;
  key: string;
  /** Everything but the seed, which comes with the mixture. */
  hyperparameters: TrainHyperparameters;
  threads?: number;
  device?: "auto" | "cpu" | "cuda";
  logEvery?: number;
}

export function proxyTrainStep(opts: ProxyTrainOptions) {
  const names = sourceNames(opts.data, MIXTURES_INPUT);
  const inputs: Record<string, Step<any, TokenizedResult | MixtureSource, any>> = { ...opts.data, [MIXTURES_INPUT]: opts.mixtures };
  return step({
    name: opts.name,
    resumable: true,
    config: {
      key: versioned(opts.key),
      hyperparameters: versioned(opts.hyperparameters),
      threads: opts.threads ?? null,
      device: opts.device ?? "auto",
      logEvery: opts.logEvery ?? 50,
    },
    inputs,
    run: async (ctx): Promise<ProxyTrainResult> => {
      const source = ctx.inputs[MIXTURES_INPUT].result;
      const entry = "mixtures" in source ? source.mixtures[ctx.config.key] : undefined;
      if (!entry) throw new SwarmInputError(`${ctx.name}: no mixture '${ctx.config.key}' in the result of its mixtures step`, "rebuild the swarm's steps with mixtureSwarm()");
      if (isSkipped(entry)) {
        ctx.log(`nothing to train: ${entry.skipped}`);
        return entry;
      }
      const hp = ctx.config.hyperparameters;
      const trained = await runTraining(ctx, {
        sources: names.map((n) => ({ name: n, input: tokenizedInput(n, ctx.name, ctx.inputs[n]), weight: entry.weights[n], maxTokens: entry.maxTokens[n] })),
        hyperparameters: { ...hp, train: { ...hp.train, seed: entry.seed } },
        device: ctx.config.device,
        threads: ctx.config.threads,
        logEvery: ctx.config.logEvery,
      });
      return { ...trained, mixture: entry };
    },
  });
}

export interface ProxyEvalOptions {
  name: string;
  model: Step<any, ProxyTrainResult, any>;
  data: Record<string, Step<any, TokenizedResult, any>>;
  /** Score at most this many held-out tokens per source. */
  maxTokens?: number;
  seqLen?: number;
  threads?: number;
}

export function proxyEvalStep(opts: ProxyEvalOptions) {
  const names = sourceNames(opts.data, MODEL_INPUT);
  const inputs: Record<string, Step<any, TokenizedResult | ProxyTrainResult, any>> = { ...opts.data, [MODEL_INPUT]: opts.model };
  return step({
    name: opts.name,
    config: { maxTokens: versioned(opts.maxTokens ?? null), seqLen: versioned(opts.seqLen ?? null), threads: opts.threads ?? null },
    inputs,
    run: async (ctx): Promise<ProxyEvalResult> => {
      const model = ctx.inputs[MODEL_INPUT];
      const trained = model.result;
      if (isSkipped(trained)) return { skipped: trained.skipped };
      if (!("model" in trained)) throw new SwarmInputError(`input '${MODEL_INPUT}' of ${ctx.name} is not a proxy train step's result`, "build proxies with mixtureSwarm()");
      return runEvaluation(ctx, {
        model: { stepPath: model.stepPath, result: trained },
        sources: names.map((n) => ({ name: n, input: tokenizedInput(n, ctx.name, ctx.inputs[n]) })),
        seqLen: ctx.config.seqLen,
        stride: null,
        maxTokens: ctx.config.maxTokens,
        threads: ctx.config.threads,
      });
    },
  });
}
