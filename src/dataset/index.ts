/**
 * Public API of the Dataset layer: building datasets, function references, plans, errors and
 * execution. The package entry (src/index.ts) re-exports the user-facing part of it; the plumbing
 * (task descriptors, runners, the task function) is exported by src/internal.ts.
 */
export { Dataset, Terminal, where } from "./dataset.ts";
export type { ReadOptions, WriteOptions, RoutedWriteOptions, IterateOptions, GroupByOptions, JoinOptions, Joined } from "./dataset.ts";
export type { KeyCount } from "./builtins.ts";
export { fn } from "./fn.ts";
export type { Fn, FnRef, JsonValue, UserContext } from "./fn.ts";
export type { LogicalPlan, Where, BadRecordPolicy, ColumnType, OutputSchema, OutputFormat } from "./logical.ts";
export type { WrittenFile } from "./exec/task.ts";
export { explainPlan } from "./plan/explain.ts";
export { DatasetPlanError, PlanNotPortableError, UserFunctionError, FunctionResolveError, TaskError, JoinInputError, IterationLimitError } from "./errors.ts";
export type { RecordPosition } from "./errors.ts";
export { executeDataset, defaultMemoryBudget } from "./exec/execute.ts";
export type { ExecuteOptions, ExecutionResult } from "./exec/execute.ts";
export type { DatasetCounters, StageCounters } from "./exec/counters.ts";
export { runDataset, type DatasetStepContext } from "./step.ts";
