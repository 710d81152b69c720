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
  type DocBytes,
} from "./step.ts";
export { normalizeRecords, markDuplicates, routeRecord, recordId, type DedupMode, type NormalizedRecord, type ShuffledRecord } from "./records.ts";
export { NormalizeError, NothingLeftError } from "./errors.ts";
