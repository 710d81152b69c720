/**
 * Public API of the Dataset layer: building datasets, function references, plans, errors and
 * execution. The package entry (src/index.ts) re-exports this module.
 */
export { Dataset, Terminal, where } from "./dataset.ts";
export type { ReadOptions, WriteOptions, GroupByOptions, JoinOptions, Joined } from "./dataset.ts";
export type { KeyCount } from "./builtins.ts";
export { fn } from "./fn.ts";
export type { Fn, FnRef, JsonValue, UserContext } from "./fn.ts";
export type { LogicalPlan, Where } from "./logical.ts";
export { planPhysical, explainPlan } from "./planner.ts";
export type { PhysicalPlan, Stage, ShuffleReduce } from "./planner.ts";
export type { TaskDescriptor, TaskResult, ShuffleCounters } from "./task.ts";
export { DatasetPlanError, PlanNotPortableError, UserFunctionError, FunctionResolveError, TaskError, JoinInputError } from "./errors.ts";
export { executeDataset, MAX_ATTEMPTS, defaultMemoryBudget } from "../executor/dataset/execute.ts";
export type { ExecuteOptions, ExecutionResult } from "../executor/dataset/execute.ts";
export type { DatasetCounters, StageCounters } from "../executor/dataset/counters.ts";
export { flattenCounters } from "../executor/dataset/counters.ts";
export type { TaskRunner } from "../executor/dataset/inline.ts";
export { runTask } from "../executor/dataset/run-task.ts";
export { createResolver } from "../executor/dataset/resolve.ts";
export { createPoolRunner } from "../executor/dataset/pool.ts";
