/**
 * A fastText-style linear quality classifier: hashed word unigram and bigram features (words by
 * the MinHash word rule: lowercased, white-space split, punctuation deleted) in 2^k buckets,
 * L2-normalised counts, and a logistic-regression model trained with plain SGD (linearly decaying
 * learning rate, lazy L2 on touched weights). Training is deterministic by seed: the held-out split
 * and every epoch's order come from a seeded PRNG. `train` returns the model with its train and
 * held-out accuracy; `score` gives P(positive). Models serialise to JSON (sparse weights, base64) or
 * to a compact binary (JSON header + little-endian float32 weights).
 */
import { KilnError } from "../../errors.ts";
import { Shingler, foldHash32, mix32 } from "../minhash/shingles.ts";
import { seededUint32 } from "../minhash/signature.ts";

export class ClassifierInputError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_CLASSIFIER_INPUT", message, hint);
  }
}

export class ClassifierFormatError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_CLASSIFIER_FORMAT", message, hint);
  }
}

export interface TrainingExample {
  readonly text: string;
  /** true / 1 = positive (keep-worthy), false / 0 = negative. */
  readonly label: boolean | 0 | 1;
}

export interface TrainOptions {
  /** Number of hash buckets, a power of two (default 2^20). */
  readonly buckets?: number;
  /** Add word-bigram features (default true). */
  readonly bigrams?: boolean;
  readonly epochs?: number;
  readonly learningRate?: number;
  readonly l2?: number;
  /** Fraction of examples held out to measure accuracy (default 0.1; 0 = none). */
  readonly heldOutFraction?: number;
  readonly seed?: number;
}

export interface ClassifierMetrics {
  readonly trainCount: number;
  readonly heldOutCount: number;
  readonly trainAccuracy: number;
  /** NaN-free: 0 when nothing was held out (see heldOutCount). */
  readonly heldOutAccuracy: number;
  readonly heldOutLogLoss: number;
}

export interface QualityClassifier {
  readonly format: "kiln.hashed-logistic";
  readonly version: 1;
  readonly buckets: number;
  readonly bigrams: boolean;
  readonly featureSeed: number;
  readonly bias: number;
  readonly weights: Float32Array;
  readonly metrics: ClassifierMetrics;
}

interface SparseFeatures {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

const shingler = new Shingler(1);

/** Hashed, L2-normalised unigram (+ bigram) features of a text. */
function featurize(text: string, buckets: number, bigrams: boolean, seed: number): SparseFeatures {
  const words = shingler.wordHashes(text);
  const mask = buckets - 1;
  const raw = new Int32Array(words.length * (bigrams ? 2 : 1));
  let count = 0;
  for (let i = 0; i < words.length; i++) {
    raw[count++] = mix32(words[i] ^ seed) & mask;
    if (bigrams && i + 1 < words.length) raw[count++] = mix32(foldHash32(foldHash32(seed ^ 0x2b, words[i]), words[i + 1])) & mask;
  }
  const sorted = raw.subarray(0, count).sort();
  const indices: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) counts[counts.length - 1]++;
    else {
      indices.push(sorted[i]);
      counts.push(1);
    }
  }
  let norm = 0;
  for (const c of counts) norm += c * c;
  const scale = norm === 0 ? 0 : 1 / Math.sqrt(norm);
  return { indices: Int32Array.from(indices), values: Float32Array.from(counts, (c) => c * scale) };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function linear(weights: Float32Array, bias: number, features: SparseFeatures): number {
  let z = bias;
  for (let i = 0; i < features.indices.length; i++) z += weights[features.indices[i]] * features.values[i];
  return z;
}

function checkOptions(options: TrainOptions): Required<TrainOptions> {
  const resolved = {
    buckets: options.buckets ?? 1 << 20,
    bigrams: options.bigrams ?? true,
    epochs: options.epochs ?? 5,
    learningRate: options.learningRate ?? 0.5,
    l2: options.l2 ?? 1e-6,
    heldOutFraction: options.heldOutFraction ?? 0.1,
    seed: options.seed ?? 1,
  };
  const { buckets, epochs, learningRate, l2, heldOutFraction, seed } = resolved;
  const bad = (field: string, value: unknown, rule: string): never => {
    throw new ClassifierInputError(`classifier option "${field}" is ${JSON.stringify(value)}`, `set ${field} to ${rule}`);
  };
  if (!Number.isInteger(buckets) || buckets < 2 || buckets > 1 << 26 || (buckets & (buckets - 1)) !== 0) {
    bad("buckets", buckets, "a power of two between 2 and 2^26");
  }
  if (!Number.isInteger(epochs) || epochs < 1) bad("epochs", epochs, "a positive integer");
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) bad("learningRate", learningRate, "a positive number");
  if (!(l2 >= 0) || !Number.isFinite(l2)) bad("l2", l2, "a number ≥ 0");
  if (!(heldOutFraction >= 0 && heldOutFraction < 1)) bad("heldOutFraction", heldOutFraction, "a number in [0, 1)");
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) bad("seed", seed, "an integer in [0, 2^32)");
  return resolved;
}

function shuffleInPlace<T>(items: T[], next: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}

/** Trains a model on labelled examples; see the file header for the method. */
export function train(examples: readonly TrainingExample[], options: TrainOptions = {}): QualityClassifier {
  const opts = checkOptions(options);
  const labelled = examples.map((example, index) => {
    const label = example?.label;
    if (typeof example?.text !== "string" || (label !== true && label !== false && label !== 0 && label !== 1)) {
      throw new ClassifierInputError(
        `training example #${index} has text ${typeof example?.text} and label ${JSON.stringify(label)}`,
        "give every example a string text and a label of true/false or 1/0",
      );
    }
    return { text: example.text, y: label === true || label === 1 ? 1 : 0 };
  });
  const positives = labelled.filter((e) => e.y === 1).length;
  if (positives === 0 || positives === labelled.length) {
    throw new ClassifierInputError(
      `training needs both classes; got ${positives} positive and ${labelled.length - positives} negative examples`,
      "pass positive and negative example texts",
    );
  }
  const next = seededUint32(opts.seed);
  shuffleInPlace(labelled, next);
  const heldOutCount = Math.floor(labelled.length * opts.heldOutFraction);
  const featureSeed = opts.seed ^ 0x5f3759df;
  const featurized = labelled.map((e) => ({ y: e.y, x: featurize(e.text, opts.buckets, opts.bigrams, featureSeed) }));
  const heldOut = featurized.slice(0, heldOutCount);
  const training = featurized.slice(heldOutCount);
  const weights = new Float32Array(opts.buckets);
  let bias = 0;
  const totalSteps = opts.epochs * training.length;
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    shuffleInPlace(training, next);
    for (const { x, y } of training) {
      const rate = opts.learningRate * Math.max(1e-4, 1 - step / totalSteps);
      step++;
      const gradient = sigmoid(linear(weights, bias, x)) - y;
      for (let i = 0; i < x.indices.length; i++) {
        const j = x.indices[i];
        weights[j] -= rate * (gradient * x.values[i] + opts.l2 * weights[j]);
      }
      bias -= rate * gradient;
    }
  }
  const accuracyOf = (set: typeof training): { accuracy: number; logLoss: number } => {
    if (set.length === 0) return { accuracy: 0, logLoss: 0 };
    let correct = 0;
    let loss = 0;
    for (const { x, y } of set) {
      const p = sigmoid(linear(weights, bias, x));
      if ((p >= 0.5 ? 1 : 0) === y) correct++;
      loss -= Math.log(Math.min(1 - 1e-12, Math.max(1e-12, y === 1 ? p : 1 - p)));
    }
    return { accuracy: correct / set.length, logLoss: loss / set.length };
  };
  const trainScore = accuracyOf(training);
  const heldOutScore = accuracyOf(heldOut);
  return {
    format: "kiln.hashed-logistic",
    version: 1,
    buckets: opts.buckets,
    bigrams: opts.bigrams,
    featureSeed,
    bias,
    weights,
    metrics: {
      trainCount: training.length,
      heldOutCount,
      trainAccuracy: trainScore.accuracy,
      heldOutAccuracy: heldOutScore.accuracy,
      heldOutLogLoss: heldOutScore.logLoss,
    },
  };
}

/** P(positive) for one text. */
export function score(model: QualityClassifier, text: string): number {
  if (typeof text !== "string") {
    throw new ClassifierInputError(`score() got ${typeof text} instead of a text`, "pass the record's text field");
  }
  return sigmoid(linear(model.weights, model.bias, featurize(text, model.buckets, model.bigrams, model.featureSeed)));
}
