/**
 * Public surface of the consolidate step: the step and its result, the filter types and helpers,
 * the mergeable quantile sketch, the join tasks and the typed errors.
 */
export { consolidateStep, CONSOLIDATED_SCHEMA_VERSION, type ConsolidateOptions, type ConsolidateResult } from "./step.ts";
export {
  validateFilters,
  resolveFilters,
  firstRejecting,
  filterName,
  type ConsolidateFilter,
  type DropTrueFilter,
  type DropFalseFilter,
  type ThresholdFilter,
  type FractionFilter,
  type ResolvedFilter,
} from "./filters.ts";
export { QuantileSketch, type SketchJson } from "./sketch.ts";
export { findAttributeFile, type DocBytes } from "./step.ts";
export { applyFilters, mergeAttributes, sketchAttributes, type AttributeRecord } from "./consolidate-functions.ts";
export { ConsolidateError, FilterConfigError, CoPartitionError } from "./errors.ts";
