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
export { consolidateTask, sketchTask, attributeRecords, findAttributeFile } from "./tasks.ts";
export { ConsolidateError, FilterConfigError, CoPartitionError } from "./errors.ts";
