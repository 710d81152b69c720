/**
 * kiln's public surface: what a pipeline module imports. Defining steps and pipelines, marking
 * versioned config, the built-in steps (download, normalize, MinHash dedup, quality, consolidate,
 * tokenize, train tokenizer, train, eval) with their options and result types, the Dataset API for
 * a step's own data-parallel work, running a pipeline programmatically, storage paths, and errors.
 * Plumbing (task descriptors, runners, planners, markers) is exported by `kiln/internal`
 * (src/internal.ts) for tools built on kiln; it may change between versions.
 */
export { step, type Step, type StepContext, type StepRef, type StepResult, type Input, type InputSpec } from "./graph/step.ts";
export { versioned, type Versioned, type Unversioned } from "./graph/versioned.ts";
export { pipeline, PipelineLoadError, type Pipeline } from "./graph/pipeline.ts";
export type { PipelineRun, StepReport, StepRunState } from "./graph/pipeline-run.ts";
export { formatTable, type TableOptions, type TableCell } from "./cli/table.ts";
export { runGraph, planRun, type RunOptions, type RunSummary } from "./executor/scheduler.ts";
export { buildGraph } from "./graph/dag.ts";
export { joinPath } from "./io/index.ts";
export { KilnError, describeError } from "./errors.ts";

// The Dataset API.
export {
  Dataset,
  Terminal,
  where,
  fn,
  executeDataset,
  runDataset,
  explainPlan,
  DatasetPlanError,
  PlanNotPortableError,
  UserFunctionError,
  FunctionResolveError,
  TaskError,
  JoinInputError,
  IterationLimitError,
} from "./dataset/index.ts";
export type {
  ReadOptions,
  WriteOptions,
  RoutedWriteOptions,
  IterateOptions,
  GroupByOptions,
  JoinOptions,
  Joined,
  KeyCount,
  Fn,
  FnRef,
  JsonValue,
  UserContext,
  Where,
  BadRecordPolicy,
  ColumnType,
  OutputSchema,
  OutputFormat,
  WrittenFile,
  RecordPosition,
  ExecuteOptions,
  ExecutionResult,
  DatasetCounters,
  StageCounters,
  DatasetStepContext,
} from "./dataset/index.ts";

// Built-in steps.
export { downloadStep, type DownloadOptions, type DownloadResult, type DownloadSpec, type DownloadedFileEntry } from "./steps/download/index.ts";
export { listSources, registerSource, type SourceSpec } from "./steps/sources/index.ts";
export { normalizeStep, type NormalizeOptions, type NormalizeResult, type SourceStages, type DedupMode } from "./steps/normalize/index.ts";
export {
  minhashDedupStep,
  chooseBanding,
  DEFAULT_THRESHOLD,
  type MinHashDedupOptions,
  type MinHashDedupResult,
  type DedupSourceResult,
  type MinHashParams,
  type NearDuplicateSettings,
  type Verification as NearDuplicateVerification,
  type ShingleNormalization,
} from "./steps/minhash/index.ts";
export { qualityStep, RULE_SETS, type QualityStepOptions, type QualityStepResult, type RuleSetName, type QualityLabels } from "./steps/quality/index.ts";
export { consolidateStep, type ConsolidateOptions, type ConsolidateResult, type ConsolidateFilter } from "./steps/consolidate/index.ts";
export { tokenizeStep, trainTokenizerStep, type TokenizeOptions, type TrainTokenizerOptions, type TrainedTokenizerResult } from "./steps/tokenize/tokenize-step.ts";
export type { TokenizedResult } from "./steps/tokenize/result.ts";
export { trainStep, evalStep, type TrainResult, type EvalResult } from "./steps/train/train-step.ts";
export { loadTokenizer, type Tokenizer } from "./tokenizers/index.ts";

// Mixture swarm: proxy runs over mixture weights, a fitted law, a proposal and a verified mixture.json.
export * from "./swarm/index.ts";
