/**
 * Public surface of the normalize step: the step, its result types, the partitioning helpers every
 * co-partitioned step uses, the task functions (for callers that run them outside a pipeline) and
 * the typed errors.
 */
export {
  normalizeStep,
  normalizedPartOf,
  normalizedPartName,
  NORMALIZED_SCHEMA_VERSION,
  DEFAULT_TARGET_PARTITION_BYTES,
  COMPRESSED_SIZE_FACTOR,
  type NormalizeOptions,
  type NormalizeResult,
  type SourceStages,
} from "./step.ts";
export { normalizeMapTask, normalizeReduceTask, type DedupMode, type DocBytes, type NormalizedRecord } from "./tasks.ts";
export { NormalizeError, NothingLeftError } from "./errors.ts";
