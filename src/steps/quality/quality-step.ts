/**
 * `qualityStep`: quality attributes for every document of one or more normalized sources. Inside
 * the step a hashed-n-gram logistic classifier is trained on documents of the sources the user names
 * as positive (e.g. a curated Brown source) against those named negative (e.g. spam), taking up to
 * `examplesPerClass` documents per class spread evenly over that class's sources in part order (ids
 * are content hashes, so this is an unbiased sample); its held-out accuracy is part of the result and
 * the model is kept as `classifier/model.bin`. Then every part of every source is scored on worker
 * threads. Output, co-partitioned with each source: `<source name>/outputs/main/<same part name>`,
 * records `{id, attributes: {<every heuristic of qualityAttributes>, quality_score}}` for EVERY
 * document, sorted by id; `quality_score` is P(positive) in [0, 1].
 */
import { availableParallelism } from "node:os";
import { createTaskPool } from "../task-pool.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { joinPath } from "../../io/index.ts";
import { readSplit } from "../../io/formats.ts";
import { attributeDir, checkSourceName, listSourceParts, sourceInput, type NormalizedSource } from "../minhash/source-parts.ts";
import { classifierToBytes } from "./classifier-format.ts";
import { ClassifierInputError, train, type TrainOptions, type TrainingExample } from "./classifier.ts";
import { QUALITY_ATTRIBUTE_NAMES } from "./heuristics.ts";
import { qualityTask, type QualityTaskArgs, type QualityTaskResult } from "./quality-task.ts";

export interface QualityStepOptions {
  name: string;
  /** Normalized source steps by source name (a step means its outputs/main folder). */
  sources: Record<string, InputSpec>;
  /** Source names whose documents are positive (keep-worthy) training examples. */
  positive: string[];
  /** Source names whose documents are negative training examples. */
  negative: string[];
  /** Training documents per class at most (default 5,000). */
  examplesPerClass?: number;
  /** Classifier options; defaults: 2^18 buckets, bigrams, 5 epochs, 20 % held out, seed 1. */
  classifier?: TrainOptions;
  /** Worker threads for scoring (default: every core; 0 = in the step's thread). */
  threads?: number;
}

export interface QualityStepResult {
  classifier: {
    file: string;
    positive: string[];
    negative: string[];
    trainCount: number;
    heldOutCount: number;
    trainAccuracy: number;
    heldOutAccuracy: number;
    heldOutLogLoss: number;
  };
  documents: number;
  textChars: number;
  attributeNames: string[];
  sources: Record<string, { parts: number; documents: number; meanScore: number; attributes: string }>;
}

function checkOptions(opts: QualityStepOptions): void {
  const names = Object.keys(opts.sources ?? {});
  names.forEach((n) => checkSourceName(n, `quality step '${opts.name}'`));
  for (const [which, list] of [["positive", opts.positive], ["negative", opts.negative]] as const) {
    if (!Array.isArray(list) || list.length === 0) {
      throw new ClassifierInputError(`quality step '${opts.name}': no ${which} sources`, `name at least one of the sources (${names.join(", ")}) as ${which}`);
    }
    for (const n of list) {
      if (!names.includes(n)) {
        throw new ClassifierInputError(`quality step '${opts.name}': ${which} source '${n}' is not one of its sources (${names.join(", ")})`, "add it to sources or fix the name");
      }
    }
  }
  const both = opts.positive.filter((n) => opts.negative.includes(n));
  if (both.length > 0) {
    throw new ClassifierInputError(`quality step '${opts.name}': source '${both[0]}' is both positive and negative`, "a source can be in one training class only");
  }
  const k = opts.examplesPerClass;
  if (k !== undefined && !(Number.isSafeInteger(k) && k >= 10)) {
    throw new ClassifierInputError(`quality step '${opts.name}': examplesPerClass is ${k}`, "use an integer of at least 10 (default 5,000)");
  }
}

/** Up to `limit` non-empty texts of a source, in part order. */
async function sampleTexts(source: NormalizedSource, limit: number): Promise<string[]> {
  const texts: string[] = [];
  for (const part of source.parts) {
    const split = { path: part.path, format: "parquet" as const, size: part.size, start: 0, end: part.size };
    for await (const batch of readSplit(split, { columns: ["text"], batchRows: 1024 })) {
      for (const row of batch.rows as { text: unknown }[]) {
        if (typeof row.text === "string" && row.text.trim().length > 0) texts.push(row.text);
        if (texts.length >= limit) return texts;
      }
    }
  }
  return texts;
}

export function qualityStep(opts: QualityStepOptions) {
  checkOptions(opts);
  const sourceNames = Object.keys(opts.sources);
  const classifier: TrainOptions = { buckets: 1 << 18, heldOutFraction: 0.2, seed: 1, ...opts.classifier };
  return step({
    name: opts.name,
    config: {
      positive: versioned(opts.positive),
      negative: versioned(opts.negative),
      examplesPerClass: versioned(opts.examplesPerClass ?? 5000),
      classifier: versioned(classifier),
      format: versioned("kiln-quality-attributes-v1"),
      threads: opts.threads ?? null,
    },
    inputs: Object.fromEntries(sourceNames.map((n) => [n, sourceInput(opts.sources[n])])) as Record<string, InputSpec>,
    run: async (ctx): Promise<QualityStepResult> => {
      const inputs = ctx.inputs as Record<string, { path: string }>;
      const sources = new Map<string, NormalizedSource>();
      for (const n of sourceNames) sources.set(n, await listSourceParts(n, inputs[n].path));

      // Train on the user's positive and negative sources.
      const perClass = ctx.config.examplesPerClass as number;
      const examples: TrainingExample[] = [];
      for (const [names, label] of [[ctx.config.positive as string[], true], [ctx.config.negative as string[], false]] as const) {
        const before = examples.length;
        for (const n of names) {
          for (const text of await sampleTexts(sources.get(n)!, Math.ceil(perClass / names.length))) examples.push({ text, label });
        }
        if (examples.length === before) {
          throw new ClassifierInputError(`quality step '${ctx.name}': the ${label ? "positive" : "negative"} sources (${names.join(", ")}) have no documents with text`, "pick sources with documents for both classes");
        }
      }
      const model = train(examples, ctx.config.classifier as TrainOptions);
      const m = model.metrics;
      ctx.log(`classifier: ${m.trainCount} training, ${m.heldOutCount} held-out examples, held-out accuracy ${m.heldOutAccuracy.toFixed(4)}`);
      const modelFile = "classifier/model.bin";
      await ctx.writeFile(modelFile, Buffer.from(classifierToBytes(model)));

      // Score every part of every source.
      const tasks: { source: string; args: QualityTaskArgs }[] = [];
      for (const [name, src] of sources) {
        for (const part of src.parts) {
          tasks.push({ source: name, args: { part, modelPath: ctx.path(modelFile), outputFile: joinPath(attributeDir(ctx.outputPath, name), part.fileName) } });
        }
      }
      const threads = (ctx.config.threads as number | null) ?? availableParallelism();
      ctx.log(`scoring ${tasks.length} part(s) on ${Math.max(1, Math.min(threads, tasks.length))} thread(s)`);
      const pool = createTaskPool(new URL("./worker.mjs", import.meta.url), threads, ctx.signal);
      let results: QualityTaskResult[];
      try {
        results = await pool.runAll(tasks.map((t) => t.args), "qualityTask", qualityTask);
      } finally {
        await pool.destroy();
      }
      const perSource: QualityStepResult["sources"] = {};
      for (const [name, src] of sources) perSource[name] = { parts: src.numParts, documents: 0, meanScore: 0, attributes: `${name}/outputs/main` };
      results.forEach((r, i) => {
        const s = perSource[tasks[i].source];
        s.documents += r.documents;
        s.meanScore += r.scoreSum;
      });
      for (const s of Object.values(perSource)) s.meanScore = s.documents === 0 ? 0 : s.meanScore / s.documents;
      const documents = results.reduce((sum, r) => sum + r.documents, 0);
      ctx.counters.increment("documents", documents);
      ctx.counters.increment("training_examples", m.trainCount + m.heldOutCount);
      return {
        classifier: {
          file: modelFile,
          positive: ctx.config.positive as string[],
          negative: ctx.config.negative as string[],
          trainCount: m.trainCount,
          heldOutCount: m.heldOutCount,
          trainAccuracy: m.trainAccuracy,
          heldOutAccuracy: m.heldOutAccuracy,
          heldOutLogLoss: m.heldOutLogLoss,
        },
        documents,
        textChars: results.reduce((sum, r) => sum + r.textChars, 0),
        attributeNames: [...QUALITY_ATTRIBUTE_NAMES, "quality_score"],
        sources: perSource,
      };
    },
  });
}
