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
import { Dataset, fn, runDataset } from "../../dataset/index.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { joinPath } from "../../io/index.ts";
import { attributeDir, checkSourceName, listSourceParts, sourceInput, type NormalizedSource } from "../minhash/source-parts.ts";
import { classifierToBytes } from "./classifier-format.ts";
import { ClassifierInputError, train, type TrainOptions, type TrainingExample } from "./classifier.ts";
import { QUALITY_ATTRIBUTE_NAMES } from "./heuristics.ts";
import { nonEmptyText, QUALITY_ATTRIBUTE_SCHEMA, QUALITY_FUNCTIONS as F, scoreDocuments } from "./quality-functions.ts";

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
  /** Worker threads (default: the run's shared pool of every core; 0 = in the step's thread). */
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

type Ctx = Parameters<typeof runDataset>[0];

/** Up to `limit` non-empty texts of a source, in part order (each part limited, then gathered and limited). */
async function sampleTexts(ctx: Ctx, source: NormalizedSource, limit: number, threads: number | undefined): Promise<string[]> {
  const sample = Dataset.read<{ text: string }>(source.parts.map((p) => p.path))
    .select("text")
    .filter(fn(F, nonEmptyText))
    .take(limit);
  const { rows } = await runDataset(ctx, sample, { threads, label: `sample.${source.name}`, progress: false });
  return rows.map((r) => r.text);
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
    inputs: Object.fromEntries(sourceNames.map((n) => [n, sourceInput(opts.sources[n])])),
    run: async (ctx): Promise<QualityStepResult> => {
      const cfg = ctx.config;
      const threads = cfg.threads ?? undefined;
      const sources = new Map<string, NormalizedSource>();
      for (const n of sourceNames) sources.set(n, await listSourceParts(n, ctx.inputs[n].path));

      // Train on the user's positive and negative sources.
      const examples: TrainingExample[] = [];
      for (const [names, label] of [[cfg.positive, true], [cfg.negative, false]] as const) {
        const before = examples.length;
        for (const n of names) {
          const source = sources.get(n);
          if (!source) continue;
          for (const text of await sampleTexts(ctx, source, Math.ceil(cfg.examplesPerClass / names.length), threads)) examples.push({ text, label });
        }
        if (examples.length === before) {
          throw new ClassifierInputError(`quality step '${ctx.name}': the ${label ? "positive" : "negative"} sources (${names.join(", ")}) have no documents with text`, "pick sources with documents for both classes");
        }
      }
      const model = train(examples, cfg.classifier);
      const m = model.metrics;
      ctx.log(`classifier: ${m.trainCount} training, ${m.heldOutCount} held-out examples, held-out accuracy ${m.heldOutAccuracy.toFixed(4)}`);
      const modelFile = "classifier/model.bin";
      await ctx.writeFile(modelFile, Buffer.from(classifierToBytes(model)));

      // Score every part of every source; attribute file i of a source is written by the task of its part i.
      const perSource: QualityStepResult["sources"] = {};
      let documents = 0;
      let textChars = 0;
      await Promise.all(
        [...sources].map(async ([name, src]) => {
          const scored = Dataset.read(src.parts.map((p) => p.path))
            .select("id", "text")
            .map(fn(F, scoreDocuments, { modelPath: ctx.path(modelFile) }))
            .write(joinPath(attributeDir(ctx.outputPath, name), "part-{shard}-of-{total}.parquet"), { schema: QUALITY_ATTRIBUTE_SCHEMA });
          const { counters } = await runDataset(ctx, scored, { threads, label: `score.${name}` });
          const n = counters.user.documents ?? 0;
          perSource[name] = { parts: src.numParts, documents: n, meanScore: n === 0 ? 0 : (counters.user.scoreSum ?? 0) / n, attributes: `${name}/outputs/main` };
          documents += n;
          textChars += counters.user.textChars ?? 0;
        }),
      );
      ctx.counters.increment("documents", documents);
      ctx.counters.increment("training_examples", m.trainCount + m.heldOutCount);
      return {
        classifier: {
          file: modelFile,
          positive: cfg.positive,
          negative: cfg.negative,
          trainCount: m.trainCount,
          heldOutCount: m.heldOutCount,
          trainAccuracy: m.trainAccuracy,
          heldOutAccuracy: m.heldOutAccuracy,
          heldOutLogLoss: m.heldOutLogLoss,
        },
        documents,
        textChars,
        attributeNames: [...QUALITY_ATTRIBUTE_NAMES, "quality_score"],
        sources: Object.fromEntries(sourceNames.map((n) => [n, perSource[n]])),
      };
    },
  });
}
