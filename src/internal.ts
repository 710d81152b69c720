/**
 * kiln's second entry point, `kiln/internal`: the plumbing below the public API, for tools built on
 * kiln (remote workers, benchmarks, tests). Task descriptors and the function that runs one, task
 * runners, the planner, counters, step markers and the storage interface. It may change between
 * versions; pipelines import from `kiln` (src/index.ts).
 */
export { planPhysical } from "./dataset/plan/planner.ts";
export type { PhysicalPlan, Stage, StageInput, StageOutput, StageOp } from "./dataset/plan/physical.ts";
export type { TaskDescriptor, TaskResult, TaskSuccess, TaskCounters, ShuffleCounters, SerializedError, SideInput } from "./dataset/exec/task.ts";
export { serializeError, deserializeError } from "./dataset/exec/task.ts";
export { runTask } from "./dataset/exec/run-task.ts";
export { createResolver } from "./dataset/exec/resolve.ts";
export { createInlineRunner, type TaskRunner } from "./dataset/exec/inline.ts";
export { createPoolRunner, sharedPoolRunner, closeSharedPools } from "./dataset/exec/pool.ts";
export { MAX_ATTEMPTS, assertPortable } from "./dataset/exec/execute.ts";
export { flattenCounters } from "./dataset/exec/counters.ts";
export { setStepRunner } from "./dataset/step.ts";
export { loadPipeline } from "./graph/pipeline.ts";
export { toMermaid, type Graph, type StepNode } from "./graph/dag.ts";
export { canonicalJson, CanonicalJsonError } from "./graph/canonical-json.ts";
export type { StepOutcome } from "./executor/step-runner.ts";
export { readStatus, readInfo, type StepState, type StepInfo } from "./executor/markers.ts";
export { fileSystemFor, type FileSystem } from "./io/index.ts";
