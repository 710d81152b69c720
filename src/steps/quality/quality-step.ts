/**
 * `qualityStep`: quality attributes for every document of one or more normalized sources: every
 * heuristic of heuristics.ts, the verdict of each chosen rule set (`gopher_pass`, `c4_pass`,
 * `fineweb_pass`; thresholds in rule-sets.ts) and, when labels are given, `quality_score` from a
 * hashed-n-gram logistic classifier trained inside the step (training.ts: labels from the step's
 * sources, from a field of the documents, or from the user's own files). Without labels the step is
 * rules-only: no classifier, no `quality_score`. The classifier's held-out accuracy is part of the
 * result and the model is kept as `classifier/model.bin`. Output, co-partitioned with each source:
 * `<source name>/outputs/main/<same part name>`, records `{id, attributes}` for EVERY document,
 * sorted by id. The result and the counters give, per source, the share of documents each rule
 * would drop (`dropped.<set>.<rule>:<source>` in the counters).
 */
import { Dataset, fn, runDataset } from "../../dataset/index.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { joinPath } from "../../io/index.ts";
import { attributeDir, checkSourceName, listSourceParts, sourceInput, type NormalizedSource } from "../minhash/source-parts.ts";
import { classifierToBytes } from "./classifier-format.ts";
import { ClassifierInputError, train, type TrainOptions } from "./classifier.ts";
import { QUALITY_ATTRIBUTE_NAMES } from "./heuristics.ts";
import { QUALITY_FUNCTIONS as F, qualitySchema, scoreDocuments } from "./quality-functions.ts";
import { isRuleSetName, passColumn, RULE_SET_NAMES, RULE_SETS, type RuleSetName } from "./rule-sets.ts";
import { checkLabels, trainingExamples, type QualityLabels } from "./training.ts";

export interface QualityStepOptions {
  name: string;
  /** Normalized source steps by source name (a step means its outputs/main folder). */
  sources: Record<string, InputSpec>;
  /** Where the classifier's labels come from; leave out (with positive/negative) for rules only. */
  labels?: QualityLabels;
  /** Shorthand for labels: { from: "sources", positive, negative }. */
  positive?: string[];
  negative?: string[];
  /** Heuristic rule sets whose verdicts and drop rates are written (default: all of gopher, c4, fineweb). */
  rules?: RuleSetName[];
  /** Training documents per class at most (default 5,000). */
  examplesPerClass?: number;
  /** Classifier options; defaults: 2^18 buckets, bigrams, 5 epochs, 20 % held out, seed 1. */
  classifier?: TrainOptions;
  /** Worker threads (default: the run's shared pool of every core; 0 = in the step's thread). */
  threads?: number;
}

export interface ClassifierSummary {
  file: string;
  labels: QualityLabels;
  positive: string[];
  negative: string[];
  trainCount: number;
  heldOutCount: number;
  trainAccuracy: number;
  heldOutAccuracy: number;
  heldOutLogLoss: number;
}

export interface QualitySourceResult {
  parts: number;
  documents: number;
  /** Mean classifier score (0 without a classifier). */
  meanScore: number;
  /** Share of documents each rule would drop, per rule set; `any`: the set's verdict. */
  dropRates: Record<string, Record<string, number>>;
  attributes: string;
}

export interface QualityStepResult {
  /** null in rules-only mode. */
  classifier: ClassifierSummary | null;
  rules: RuleSetName[];
  documents: number;
  textChars: number;
  attributeNames: string[];
  sources: Record<string, QualitySourceResult>;
}

/** The labels of the options (labels, or positive/negative as source labels), null for rules only. */
function labelsOf(opts: QualityStepOptions, where: string): QualityLabels | null {
  const shorthand = opts.positive !== undefined || opts.negative !== undefined;
  if (opts.labels && shorthand) throw new ClassifierInputError(`${where}: both labels and positive/negative are given`, "use one of them");
  if (shorthand) return { from: "sources", positive: opts.positive ?? [], negative: opts.negative ?? [] };
  return opts.labels ?? null;
}

function checkOptions(opts: QualityStepOptions): { labels: QualityLabels | null; rules: RuleSetName[] } {
  const where = `quality step '${opts.name}'`;
  const names = Object.keys(opts.sources ?? {});
  names.forEach((n) => checkSourceName(n, where));
  const labels = labelsOf(opts, where);
  if (labels) checkLabels(labels, names, where);
  const k = opts.examplesPerClass;
  if (k !== undefined && !(Number.isSafeInteger(k) && k >= 10)) {
    throw new ClassifierInputError(`${where}: examplesPerClass is ${k}`, "use an integer of at least 10 (default 5,000)");
  }
  const rules = opts.rules ?? [...RULE_SET_NAMES];
  const unknown = rules.find((r) => !isRuleSetName(r));
  if (unknown !== undefined) throw new ClassifierInputError(`${where}: rule set '${String(unknown)}' is not known`, `use any of ${RULE_SET_NAMES.join(", ")}`);
  return { labels, rules: [...new Set(rules)] };
}

/** Per rule set: the share of documents each rule drops, and `any` for the set, from the counters. */
function dropRatesOf(user: Record<string, number>, rules: RuleSetName[], source: string, documents: number): Record<string, Record<string, number>> {
  const share = (n: number | undefined) => (documents === 0 ? 0 : (n ?? 0) / documents);
  return Object.fromEntries(
    rules.map((set) => [set, { ...Object.fromEntries(RULE_SETS[set].map((r) => [r.name, share(user[`dropped.${set}.${r.name}:${source}`])])), any: share(user[`dropped.${set}:${source}`]) }]),
  );
}

export function qualityStep(opts: QualityStepOptions) {
  const { labels, rules } = checkOptions(opts);
  const sourceNames = Object.keys(opts.sources);
  const classifier: TrainOptions = { buckets: 1 << 18, heldOutFraction: 0.2, seed: 1, ...opts.classifier };
  return step({
    name: opts.name,
    config: {
      labels: versioned(labels),
      rules: versioned(rules),
      examplesPerClass: versioned(opts.examplesPerClass ?? 5000),
      classifier: versioned(labels ? classifier : null),
      format: versioned("kiln-quality-attributes-v2"),
      threads: opts.threads ?? null,
    },
    inputs: Object.fromEntries(sourceNames.map((n) => [n, sourceInput(opts.sources[n])])),
    run: async (ctx): Promise<QualityStepResult> => {
      const cfg = ctx.config;
      const threads = cfg.threads ?? undefined;
      const sources = new Map<string, NormalizedSource>();
      for (const n of sourceNames) sources.set(n, await listSourceParts(n, ctx.inputs[n].path));
      const summary = cfg.labels && cfg.classifier ? await trainClassifier(ctx, cfg.labels, cfg.classifier, sources, cfg.examplesPerClass, threads) : null;
      const schema = qualitySchema(cfg.rules, summary !== null);

      // Score every part of every source; attribute file i of a source is written by the task of its part i.
      const perSource: QualityStepResult["sources"] = {};
      let documents = 0;
      let textChars = 0;
      await Promise.all(
        [...sources].map(async ([name, src]) => {
          const args = { modelPath: summary ? ctx.path(summary.file) : null, rules: cfg.rules, source: name };
          const scored = Dataset.read(src.parts.map((p) => p.path))
            .select("id", "text")
            .map(fn(F, scoreDocuments, args))
            .write(joinPath(attributeDir(ctx.outputPath, name), "part-{shard}-of-{total}.parquet"), { schema });
          const { counters } = await runDataset(ctx, scored, { threads, label: `score.${name}` });
          const user = counters.user;
          const n = user.documents ?? 0;
          for (const [k, v] of Object.entries(user)) if (k.startsWith("dropped.")) ctx.counters.increment(k, v);
          perSource[name] = { parts: src.numParts, documents: n, meanScore: n === 0 ? 0 : (user.scoreSum ?? 0) / n, dropRates: dropRatesOf(user, cfg.rules, name, n), attributes: `${name}/outputs/main` };
          documents += n;
          textChars += user.textChars ?? 0;
        }),
      );
      ctx.counters.increment("documents", documents);
      if (summary) ctx.counters.increment("training_examples", summary.trainCount + summary.heldOutCount);
      return {
        classifier: summary,
        rules: cfg.rules,
        documents,
        textChars,
        attributeNames: [...QUALITY_ATTRIBUTE_NAMES, ...cfg.rules.map(passColumn), ...(summary ? ["quality_score"] : [])],
        sources: Object.fromEntries(sourceNames.map((n) => [n, perSource[n]])),
      };
    },
  });
}

/** Trains the classifier on the labels' examples and keeps it as classifier/model.bin. */
async function trainClassifier(
  ctx: Parameters<typeof runDataset>[0] & { writeFile(path: string, data: Buffer): Promise<void> },
  labels: QualityLabels,
  options: TrainOptions,
  sources: Map<string, NormalizedSource>,
  examplesPerClass: number,
  threads: number | undefined,
): Promise<ClassifierSummary> {
  const examples = await trainingExamples(ctx, labels, sources, examplesPerClass, threads, `quality step '${ctx.name}'`);
  const model = train(examples, options);
  const m = model.metrics;
  ctx.log(`classifier: ${m.trainCount} training, ${m.heldOutCount} held-out examples, held-out accuracy ${m.heldOutAccuracy.toFixed(4)}`);
  const file = "classifier/model.bin";
  await ctx.writeFile(file, Buffer.from(classifierToBytes(model)));
  const named = (which: "positive" | "negative") => (labels.from === "field" ? [] : labels[which]);
  return {
    file,
    labels,
    positive: named("positive"),
    negative: named("negative"),
    trainCount: m.trainCount,
    heldOutCount: m.heldOutCount,
    trainAccuracy: m.trainAccuracy,
    heldOutAccuracy: m.heldOutAccuracy,
    heldOutLogLoss: m.heldOutLogLoss,
  };
}
