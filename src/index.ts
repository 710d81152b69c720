/**
 * kiln's public surface. Pipeline modules import from here: defining steps and pipelines, marking
 * versioned config, running a DAG programmatically, and the storage interface. Everything else is
 * internal and may change.
 */
export { step, type Step, type StepContext, type StepRef, type StepResult, type Input } from "./graph/step.ts";
export { versioned, type Versioned, type Unversioned } from "./graph/versioned.ts";
export { pipeline, loadPipeline, type Pipeline } from "./graph/pipeline.ts";
export { buildGraph, toMermaid, type Graph, type StepNode } from "./graph/dag.ts";
export { canonicalJson, CanonicalJsonError } from "./graph/canonical-json.ts";
export { runGraph, planRun, type RunOptions, type RunSummary } from "./executor/scheduler.ts";
export type { StepOutcome } from "./executor/step-runner.ts";
export { readStatus, readInfo, type StepState, type StepInfo } from "./executor/markers.ts";
export { fileSystemFor, joinPath, type FileSystem } from "./io/index.ts";
export { KilnError, describeError } from "./errors.ts";
export * from "./ops/index.ts";
export { runDataset } from "./steps/run-dataset.ts";
export { downloadStep } from "./steps/download/index.ts";
export { listSources, registerSource, type SourceSpec } from "./steps/sources/index.ts";
export { tokenizeStep, trainTokenizerStep } from "./steps/tokenize/tokenize-step.ts";
export type { TokenizedResult } from "./steps/tokenize/result.ts";
export { trainStep, evalStep, type TrainResult, type EvalResult } from "./steps/train/train-step.ts";
export { loadTokenizer, type Tokenizer } from "./tokenizers/index.ts";
