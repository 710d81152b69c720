/**
 * The `train` and `eval` steps: they turn tokenized steps into the JSON configs of the Python
 * package in kernels/ and run it as a child process. Training is resumable: its checkpoints stay in
 * the step's resumable staging folder when a run is killed, and the next run continues from the
 * last one. Progress events become log lines and counters; the final metrics become the step's
 * result. `runTraining` and `runEvaluation` run the kernel for any step whose weights or inputs are
 * decided at run time (the mixture swarm's proxies).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { step, type Step, type StepContext } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { cliProgress } from "../../util/cli-progress.ts";
import type { TokenizedResult } from "../tokenize/result.ts";
import { pythonWithTorch, runKernel, type KernelEvent } from "../python/kernel-process.ts";

/** Model, optimizer, schedule and loop settings as kernels/README.md documents them (snake_case). */
export interface TrainHyperparameters {
  model?: Record<string, unknown>;
  optimizer?: Record<string, unknown>;
  schedule?: Record<string, unknown>;
  train?: { steps?: number; batch_size?: number; seed?: number; checkpoint_every?: number; log_every?: number };
  seq_len?: number;
}

export interface TrainOptions {
  name: string;
  /** Tokenized sources by name. */
  data: Record<string, Step<any, TokenizedResult, any>>;
  /** Mixture weights by source name (default 1 each). */
  weights?: Record<string, number>;
  /** Per-source cap on usable training tokens (simulated epochs). */
  maxTokens?: Record<string, number>;
  hyperparameters?: TrainHyperparameters;
  /** Torch CPU threads and device: run-time settings, not part of the version. */
  threads?: number;
  device?: "auto" | "cpu" | "cuda";
  /** Log a progress line every this many optimizer steps (default 25). */
  logEvery?: number;
}

export interface TrainResult {
  steps: number;
  finalLoss: number;
  tokens: number;
  elapsedS: number;
  tokensPerS: number;
  model: string;
  vocabSize: number;
  eosId: number;
  torch: string;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** What the kernel-running functions need of a step's context. */
export type KernelStepContext = Pick<StepContext<unknown, {}>, "name" | "outputPath" | "signal" | "counters" | "log" | "path" | "writeFile">;

/** A tokenized source as a train or eval run reads it: the tokenize step's folder and result. */
export interface TokenizedInput {
  stepPath: string;
  result: TokenizedResult;
}

/** One training run of the kernel: sources (in order) with weights and token caps, and settings. */
export interface TrainingRun {
  sources: Array<{ name: string; input: TokenizedInput; weight: number; maxTokens?: number }>;
  hyperparameters: TrainHyperparameters;
  device: "auto" | "cpu" | "cuda";
  threads: number | null;
  logEvery: number;
}

export function trainStep(opts: TrainOptions) {
  const names = Object.keys(opts.data).sort();
  const weights: Record<string, number> = Object.fromEntries(names.map((n) => [n, opts.weights?.[n] ?? 1]));
  const maxTokens: Record<string, number> = opts.maxTokens ?? {};
  const hyperparameters: TrainHyperparameters = opts.hyperparameters ?? {};
  return step({
    name: opts.name,
    resumable: true,
    config: {
      weights: versioned(weights),
      maxTokens: versioned(maxTokens),
      hyperparameters: versioned(hyperparameters),
      threads: opts.threads ?? null,
      device: opts.device ?? "auto",
      logEvery: opts.logEvery ?? 25,
    },
    inputs: opts.data,
    run: async (ctx): Promise<TrainResult> => {
      const c = ctx.config;
      return runTraining(ctx, {
        sources: names.map((n) => ({ name: n, input: ctx.inputs[n], weight: c.weights[n], maxTokens: c.maxTokens[n] || undefined })),
        hyperparameters: c.hyperparameters,
        device: c.device,
        threads: c.threads,
        logEvery: c.logEvery,
      });
    },
  });
}

/**
 * Trains with the kernel into `ctx.outputPath` (resuming from a checkpoint found there) and returns
 * the final numbers. Every source must come from one tokenizer.
 */
export async function runTraining(ctx: KernelStepContext, run: TrainingRun): Promise<TrainResult> {
  const first = run.sources[0].input.result.tokenizer;
  for (const s of run.sources) {
    if (s.input.result.tokenizer.name !== first.name) {
      throw new Error(`source '${s.name}' was tokenized with ${s.input.result.tokenizer.name}, but '${run.sources[0].name}' with ${first.name}; train on one tokenizer`);
    }
  }
  const hp = run.hyperparameters;
  const seqLen = hp.seq_len ?? 256;
  const config = {
    data: {
      seq_len: seqLen,
      sources: run.sources.map((s) => ({
        name: s.name,
        shards: s.input.result.splits.train.shards.map((f) => path.join(s.input.stepPath, f)),
        weight: s.weight,
        ...(s.maxTokens ? { max_tokens: s.maxTokens } : {}),
      })),
    },
    model: { max_seq_len: seqLen, ...hp.model, vocab_size: roundUp(first.vocabSize, 64) },
    ...(hp.optimizer ? { optimizer: hp.optimizer } : {}),
    ...(hp.schedule ? { schedule: hp.schedule } : {}),
    train: { ...hp.train, device: run.device, ...(run.threads ? { threads: run.threads } : {}) },
  };
  await ctx.writeFile("train-config.json", JSON.stringify(config, null, 2));
  const done = await runTrainKernel(ctx, run.logEvery);
  await relativizeSummary(ctx.outputPath);
  const { torch } = pythonWithTorch();
  return {
    steps: Number(done.step),
    finalLoss: Number(done.final_loss),
    tokens: Number(done.tokens),
    elapsedS: Number(done.elapsed_s),
    tokensPerS: Number(done.tokens_per_s ?? Number(done.tokens) / Math.max(Number(done.elapsed_s), 1e-9)),
    model: "model.pt",
    vocabSize: first.vocabSize,
    eosId: first.eosId,
    torch,
  };
}

/** Runs `kiln_kernels.train` on the config written in the output folder; returns its `done` event. */
async function runTrainKernel(ctx: KernelStepContext, logEvery: number): Promise<KernelEvent> {
  let done: KernelEvent | undefined;
  let total = 0;
  let startStep = 0;
  let startedAt = 0;
  let lastLog = 0;
  // On a terminal: a live bar (steps, loss, tokens/s, ETA). Otherwise: a log line every logEvery
  // steps, and at least every LOG_INTERVAL_MS between them, with the ETA from the steps run so far.
  const bar = process.stderr.isTTY
    ? new (cliProgress().SingleBar)(
        { format: `  ${ctx.name} {bar} {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
        cliProgress().Presets.shades_classic,
      )
    : undefined;
  try {
    await runKernel("train", ["--config", ctx.path("train-config.json"), "--output-dir", ctx.outputPath], {
      signal: ctx.signal,
      onEvent: (e) => {
        if (e.event === "start") {
          total = Number(e.total_steps);
          startStep = Number(e.step ?? 0);
          startedAt = lastLog = Date.now();
          ctx.log(`training ${total} steps${e.resumed ? ` (resumed at step ${e.step})` : ""}`);
          bar?.start(total, Number(e.step ?? 0), { loss: "-", tps: 0 });
        } else if (e.event === "step") {
          ctx.counters.increment("train_steps");
          const s = Number(e.step);
          bar?.update(s, { loss: Number(e.loss).toFixed(4), tps: Math.round(Number(e.tokens_per_s)) });
          const now = Date.now();
          if (!bar && (s % logEvery === 0 || s === total || now - lastLog >= LOG_INTERVAL_MS)) {
            lastLog = now;
            const eta = s > startStep ? `, eta ${Math.round(((now - startedAt) / (s - startStep)) * (total - s) / 1000)} s` : "";
            ctx.log(`step ${s}/${total} loss ${Number(e.loss).toFixed(4)} lr ${Number(e.lr).toExponential(2)} ${Math.round(Number(e.tokens_per_s))} tok/s${eta}`);
          }
        } else if (e.event === "checkpoint") {
          ctx.counters.increment("checkpoints");
        } else if (e.event === "done") {
          done = e;
        }
      },
    });
  } finally {
    bar?.stop();
  }
  if (!done) throw new Error("the trainer exited without a 'done' event");
  return done;
}

const SUMMARY_FILE = "summary.json";
/** Off a terminal, training logs a line at least this often (the run's quiet watch speaks up at 10 s). */
const LOG_INTERVAL_MS = 8_000;
const SUMMARY_PATH_FIELDS = ["model_path", "checkpoint_path", "metrics_path"];

/**
 * The trainer's summary.json names its files by absolute path, and the trainer writes into the
 * step's staging folder, which is not where the files end up: rewrite them relative to the output.
 */
async function relativizeSummary(outputDir: string): Promise<void> {
  const file = path.join(outputDir, SUMMARY_FILE);
  const summary: Record<string, unknown> = JSON.parse(await readFile(file, "utf8"));
  for (const field of SUMMARY_PATH_FIELDS) {
    const value = summary[field];
    if (typeof value === "string" && path.isAbsolute(value)) summary[field] = path.relative(outputDir, value);
  }
  const tmp = `${file}.kiln-tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(summary, null, 2) + "\n");
  await rename(tmp, file);
}

export interface EvalOptions {
  name: string;
  model: Step<any, TrainResult, any>;
  /** Tokenized sources whose validation splits are scored. */
  data: Record<string, Step<any, TokenizedResult, any>>;
  seqLen?: number;
  stride?: number;
  /** Score at most this many tokens per source. */
  maxTokens?: number;
  threads?: number;
}

export interface EvalResult {
  macroBpb: number;
  sources: Record<string, { bpb: number; tokens: number; bytes: number }>;
}

/** The eval step's input holding the model; the others are the tokenized sources by name. */
const MODEL_INPUT = "__model";

function isTrainResult(r: TrainResult | TokenizedResult): r is TrainResult {
  return "model" in r && typeof r.model === "string";
}

/** One evaluation of a trained model on the held-out splits of tokenized sources. */
export interface EvaluationRun {
  model: { stepPath: string; result: TrainResult };
  sources: Array<{ name: string; input: TokenizedInput }>;
  seqLen: number | null;
  stride: number | null;
  maxTokens: number | null;
  threads: number | null;
}

export function evalStep(opts: EvalOptions) {
  const names = Object.keys(opts.data).sort();
  const evalInputs: Record<string, Step<any, TrainResult | TokenizedResult, any>> = { ...opts.data, [MODEL_INPUT]: opts.model };
  return step({
    name: opts.name,
    config: {
      seqLen: versioned(opts.seqLen ?? null),
      stride: versioned(opts.stride ?? null),
      maxTokens: versioned(opts.maxTokens ?? null),
      threads: opts.threads ?? null,
    },
    inputs: evalInputs,
    run: async (ctx): Promise<EvalResult> => {
      const inputs = ctx.inputs;
      const model = inputs[MODEL_INPUT];
      const trained = model.result;
      if (!isTrainResult(trained)) throw new Error(`input '${MODEL_INPUT}' of ${ctx.name} is not a train step's result`);
      const sources = names.map((n) => {
        const tokenized = inputs[n].result;
        if (isTrainResult(tokenized)) throw new Error(`input '${n}' of ${ctx.name} is a train step, not a tokenize step`);
        return { name: n, input: { stepPath: inputs[n].stepPath, result: tokenized } };
      });
      return runEvaluation(ctx, { model: { stepPath: model.stepPath, result: trained }, sources, ...ctx.config });
    },
  });
}

/** Scores the model's bits per byte on each source's validation split with the kernel. */
export async function runEvaluation(ctx: KernelStepContext, run: EvaluationRun): Promise<EvalResult> {
  const config = {
    model: path.join(run.model.stepPath, run.model.result.model),
    sources: run.sources.map((s) => {
      const v = s.input.result.splits.validation;
      return { name: s.name, shards: v.shards.map((f) => path.join(s.input.stepPath, f)), bytes: v.bytes };
    }),
    eos_id: run.model.result.eosId,
    ...(run.seqLen ? { seq_len: run.seqLen } : {}),
    ...(run.stride ? { stride: run.stride } : {}),
    ...(run.maxTokens ? { max_tokens: run.maxTokens } : {}),
    ...(run.threads ? { threads: run.threads } : {}),
  };
  await ctx.writeFile("eval-config.json", JSON.stringify(config, null, 2));
  const events = await runKernel("evaluate", ["--config", ctx.path("eval-config.json"), "--output", ctx.path("eval.json")], {
    signal: ctx.signal,
    onEvent: (e) => {
      if (e.event === "source") ctx.log(`${String(e.name)}: ${Number(e.bpb).toFixed(4)} bits per byte`);
    },
  });
  const done = events.find((e) => e.event === "done");
  const sources: EvalResult["sources"] = {};
  for (const e of events.filter((x) => x.event === "source")) {
    sources[String(e.name)] = { bpb: Number(e.bpb), tokens: Number(e.tokens), bytes: Number(e.bytes) };
  }
  if (!done) throw new Error("the evaluator exited without a 'done' event");
  return { macroBpb: Number(done.macro_bpb), sources };
}
