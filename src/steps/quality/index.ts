/**
 * Public API of the quality library: heuristic attributes of a document and a hashed-n-gram
 * logistic-regression classifier (train, score, serialise), and the quality step that writes both
 * as attribute files co-partitioned with normalized sources.
 */
export { qualityAttributes, QUALITY_ATTRIBUTE_NAMES } from "./heuristics.ts";
export {
  train,
  score,
  ClassifierInputError,
  ClassifierFormatError,
  type TrainingExample,
  type TrainOptions,
  type QualityClassifier,
  type ClassifierMetrics,
} from "./classifier.ts";
export {
  classifierToJSON,
  classifierFromJSON,
  classifierToBytes,
  classifierFromBytes,
  type QualityClassifierJson,
} from "./classifier-format.ts";
export { qualityStep, type QualityStepOptions, type QualityStepResult, type QualitySourceResult, type ClassifierSummary } from "./quality-step.ts";
export { scoreDocuments, qualitySchema, QUALITY_ATTRIBUTE_SCHEMA, type QualityRow, type ScoreArgs } from "./quality-functions.ts";
export { RULE_SETS, RULE_SET_NAMES, brokenRules, passColumn, type RuleSetName, type QualityRule } from "./rule-sets.ts";
export type { QualityLabels } from "./training.ts";
