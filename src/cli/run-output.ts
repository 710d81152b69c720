/**
 * What `kiln run` prints after the steps are done: the pipeline's report hook (run after a failed
 * run too, with what finished), then each failed step's error with the first frames of its stack
 * and the info.json that holds all of it, then the steps a failure kept from running.
 */
import { KilnError } from "../errors.ts";
import { pipelineRun } from "../graph/pipeline-run.ts";
import type { Pipeline } from "../graph/pipeline.ts";
import { fileSystemFor } from "../io/index.ts";
import type { RunSummary } from "../executor/scheduler.ts";
import { markerPaths, readInfo, type StepInfo } from "../executor/markers.ts";
import { StepFailedEarlierError, type StepOutcome } from "../executor/step-runner.ts";
import { indentFrames, stackFrames } from "../util/stack-frames.ts";

/** Where the executor calls a step's `run`: frames from there on are kiln's, not the step's. */
const isRunnerFrame = (frame: string) => frame.includes("/src/executor/step-runner.ts:");

/** Where the CLI calls the report hook. */
const isCliFrame = (frame: string) => frame.includes("/src/cli/");

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The hint line of a KilnError ("" for other errors). */
function hintLine(err: unknown): string {
  return err instanceof KilnError && err.hint ? `\n  hint: ${err.hint}` : "";
}

/** The frames to show: the error's own, or for a failure from an earlier run, those info.json kept. */
function failureFrames(outcome: StepOutcome, info: StepInfo | null): string[] {
  const stack = outcome.error instanceof StepFailedEarlierError ? info?.error?.stack : outcome.error;
  return stackFrames(stack, { stopAt: isRunnerFrame });
}

/** A failed step, told for a person: message, first frames, hint, output folder and info.json. */
export async function describeStepFailure(outcome: StepOutcome): Promise<string> {
  const infoPath = markerPaths(outcome.outputPath).info;
  const fs = fileSystemFor(outcome.outputPath);
  let info: StepInfo | null = null;
  let where = "";
  try {
    info = await readInfo(fs, outcome.outputPath);
    if (info) where = `\n  full error and stack: ${infoPath}`;
  } catch (err) {
    where = `\n  ${infoPath} could not be read: ${messageOf(err)}`;
  }
  const frames = failureFrames(outcome, info);
  return `step '${outcome.node.name}' failed: ${messageOf(outcome.error)}${indentFrames(frames)}${hintLine(outcome.error)}\n  output: ${outcome.outputPath}${where}\n`;
}

/** Runs the pipeline's report hook on the run's outcomes; false (after printing why) when it threw. */
export async function runReportHook(pipeline: Pipeline, summary: RunSummary, write: (text: string) => void): Promise<boolean> {
  if (!pipeline.report) return true;
  try {
    await pipeline.report(pipelineRun(summary.outcomes, summary.ok));
    return true;
  } catch (err) {
    write(`\nreport of pipeline ${pipeline.name} failed: ${messageOf(err)}${indentFrames(stackFrames(err, { stopAt: isCliFrame }))}${hintLine(err)}\n`);
    return false;
  }
}

/** Everything a failed run prints about its failures, ready for stderr. */
export async function describeRunFailures(summary: RunSummary): Promise<string> {
  const parts = await Promise.all(summary.failed.map(async (f) => `\n${await describeStepFailure(f)}`));
  const depFailed = summary.outcomes.filter((o) => o.state === "dep-failed").map((o) => o.node.name);
  if (depFailed.length) parts.push(`\nnot run because a dependency failed: ${depFailed.join(", ")}\n`);
  return parts.join("");
}
