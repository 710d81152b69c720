/**
 * What a pipeline's `report` hook sees of a finished run: every step's outcome, looked up by the
 * step object itself so that results come back typed (`run.resultOf(tokenize)` is the tokenize
 * step's result type, or undefined when that step has no result in this run).
 */
import { buildGraph, type StepNode } from "./dag.ts";
import type { AnyStep, StepResult } from "./step.ts";

/** How a step ended: done now, done earlier (skipped), reused from another region, or not done. */
export type StepRunState = "skipped" | "ran" | "copied" | "read-in-place" | "failed" | "dep-failed";

const WITH_RESULT: ReadonlySet<StepRunState> = new Set(["skipped", "ran", "copied", "read-in-place"]);

/** One step's outcome in a run. */
export interface StepReport {
  readonly name: string;
  /** The step's full version hash. */
  readonly version: string;
  readonly state: StepRunState;
  /** Where the step's output lives (home prefix, or another region when read in place). */
  readonly outputPath: string;
  /** Time spent in this run (0 when skipped or not run). */
  readonly durationMs: number;
  /** What the step's run returned (also for skipped steps, from info.json); undefined when it failed. */
  readonly result: unknown;
  /** Why it failed, when state is "failed". */
  readonly error?: unknown;
}

/**
 * A finished run, as the report hook gets it. It is also a read-only array of the outcomes (the
 * same list as `outcomes`), so hooks that search the array by step name keep working.
 */
export interface PipelineRun extends ReadonlyArray<StepReport> {
  /** True when no selected step failed or was left out because a dependency failed. */
  readonly ok: boolean;
  /** Every selected step's outcome, dependencies first. */
  readonly outcomes: readonly StepReport[];
  /** The outcome of `step` in this run; undefined when the step was not part of it. */
  outcomeOf(step: AnyStep): StepReport | undefined;
  /** The result of `step`, typed from the step; undefined when it failed, did not run, or is not in the run. */
  resultOf<S extends AnyStep>(step: S): StepResult<S> | undefined;
}

/** An outcome as the executor reports it, keyed by graph node. */
export interface NodeOutcome {
  readonly node: StepNode;
  readonly state: StepRunState;
  readonly outputPath: string;
  readonly durationMs: number;
  readonly result?: unknown;
  readonly error?: unknown;
}

/** The version of `step` in a graph of its own: steps equal in name, config and inputs share it. */
function versionOf(step: AnyStep): string | undefined {
  return buildGraph([step]).nodes.find((n) => n.step === step)?.version;
}

/** Builds the run view the report hook receives from the executor's outcomes. */
export function pipelineRun(outcomes: readonly NodeOutcome[], ok: boolean): PipelineRun {
  const reports: StepReport[] = outcomes.map((o) => ({
    name: o.node.name,
    version: o.node.version,
    state: o.state,
    outputPath: o.outputPath,
    durationMs: o.durationMs,
    result: WITH_RESULT.has(o.state) ? o.result : undefined,
    ...(o.error !== undefined ? { error: o.error } : {}),
  }));
  const byStep = new Map<AnyStep, StepReport>(outcomes.map((o, i) => [o.node.step, reports[i]]));
  const byVersion = new Map<string, StepReport>(reports.map((r) => [r.version, r]));
  // A step object that is not the graph's own (an equal step built twice) is found by its version.
  const outcomeOf = (step: AnyStep): StepReport | undefined => {
    const known = byStep.get(step);
    if (known) return known;
    const version = versionOf(step);
    return version === undefined ? undefined : byVersion.get(version);
  };
  // The outcome was produced by this very step (or one equal to it), so its result has its type.
  const resultOf = <S extends AnyStep>(step: S): StepResult<S> | undefined => outcomeOf(step)?.result as StepResult<S> | undefined;
  return Object.assign([...reports], { ok, outcomes: reports, outcomeOf, resultOf });
}
