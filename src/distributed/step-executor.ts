/**
 * The driver's StepExecutor for `kiln run --redis`: a step that its markers already decide (SUCCESS,
 * or FAILED without --force-failed) is handled here as in a local run; any other goes to the workers
 * as a step job, which a worker runs through the same step runner (lease, staging, commit, info.json,
 * SUCCESS last). The step's log lines come back as job progress and are printed here; its outcome
 * comes back as the job's answer. A job id names the driver and the step's version, so a rerun's
 * driver never mistakes an earlier driver's job for its own.
 */
import { hostname } from "node:os";
import { deserializeError, serializeError } from "../dataset/exec/task.ts";
import type { StepNode } from "../graph/dag.ts";
import { codeFingerprint as stepCodeFingerprint } from "../executor/step-notes.ts";
import { readStatus } from "../executor/markers.ts";
import { executeStep, type RunEnvironment, type StepExecutor, type StepOutcome } from "../executor/step-runner.ts";
import { fileSystemFor, joinPath } from "../io/index.ts";
import { WorkersKeptDyingError } from "./errors.ts";
import type { CodeFingerprint } from "./fingerprint.ts";
import { isJobAnswer, type PrefixProbe, type RemoteOutcome, type RemoteTaskSettings, type StepJobData } from "./payloads.ts";
import type { JobSubmitter } from "./submitter.ts";

export interface RemoteStepOptions {
  submitter: JobSubmitter;
  owner: string;
  pipelineFile: string;
  /** Fingerprint of kiln and the pipeline module as the driver loaded them (taken once, at start). */
  code: CodeFingerprint;
  probe: PrefixProbe;
  maxWorkerLosses: number;
  tasks: RemoteTaskSettings;
}

/** True when the step's markers decide it without running it (skip a success, report an earlier failure). */
async function decidedByMarkers(node: StepNode, env: RunEnvironment): Promise<boolean> {
  if (env.isForced(node)) return false;
  const out = joinPath(env.prefix, node.relPath);
  const status = await readStatus(fileSystemFor(out), out);
  return status === "SUCCESS" || (status === "FAILED" && !env.forceFailed);
}

function stepJob(node: StepNode, deps: ReadonlyMap<StepNode, StepOutcome>, env: RunEnvironment, o: RemoteStepOptions): StepJobData {
  return {
    kind: "step",
    owner: o.owner,
    submitter: `${hostname()}:${process.pid}`,
    code: o.code,
    probe: o.probe,
    maxWorkerLosses: o.maxWorkerLosses,
    lossesBefore: 0,
    pipelineFile: o.pipelineFile,
    name: node.name,
    version: node.version,
    stepCode: stepCodeFingerprint(node),
    run: {
      prefix: env.prefix,
      regions: [...env.regions],
      regionPolicy: env.regionPolicy,
      transferBudgetBytes: env.budget.left,
      timing: env.timing,
      pollMs: env.pollMs,
      quietMs: env.quietMs,
      forced: env.isForced(node),
      forceFailed: env.forceFailed,
      gitCommit: env.gitCommit,
    },
    deps: [...deps.values()].map((d) => ({ version: d.node.version, state: d.state, outputPath: d.outputPath, result: d.result })),
    tasks: o.tasks,
  };
}

function isRemoteOutcome(v: unknown): v is RemoteOutcome {
  return typeof v === "object" && v !== null && "state" in v && typeof v.state === "string" && "outputPath" in v && typeof v.outputPath === "string";
}

/** Lines a worker sent as the job's progress. */
function progressLines(data: unknown): string[] {
  if (typeof data !== "object" || data === null || !("lines" in data) || !Array.isArray(data.lines)) return [];
  return data.lines.filter((l): l is string => typeof l === "string");
}

export function remoteStepExecutor(o: RemoteStepOptions): StepExecutor {
  return async (node, deps, env) => {
    if (await decidedByMarkers(node, env)) return executeStep(node, deps, env);
    const started = Date.now();
    const out = joinPath(env.prefix, node.relPath);
    const failed = (error: unknown): StepOutcome => ({ node, state: "failed", outputPath: out, error, durationMs: Date.now() - started });
    const jobId = `${o.owner}.step.${node.version.slice(0, 32)}`;
    const end = await o.submitter.submit("step", stepJob(node, deps, env, o), jobId, (data) => progressLines(data).forEach((l) => env.log(l)));
    if (end.kind === "unavailable") return failed(end.error);
    if (end.kind === "failed") return failed(new WorkersKeptDyingError(`step ${node.name}`, end.reason));
    const answer = end.value;
    const outcome = isJobAnswer(answer) ? answer.outcome : undefined;
    if (!isRemoteOutcome(outcome)) return failed(new Error(`step ${node.name}: the worker's answer is not a kiln step outcome`));
    return {
      node,
      state: outcome.state,
      outputPath: outcome.outputPath,
      durationMs: outcome.durationMs,
      ...(outcome.result !== undefined ? { result: outcome.result } : {}),
      ...(outcome.error ? { error: deserializeError(outcome.error) } : {}),
      ...(outcome.detail !== undefined ? { detail: outcome.detail } : {}),
    };
  };
}

/** A step outcome as it crosses back to the driver. */
export function toRemoteOutcome(o: StepOutcome): RemoteOutcome {
  return {
    state: o.state,
    outputPath: o.outputPath,
    durationMs: o.durationMs,
    ...(o.result !== undefined ? { result: o.result } : {}),
    ...(o.error !== undefined ? { error: serializeError(o.error) } : {}),
    ...(o.detail !== undefined ? { detail: o.detail } : {}),
  };
}
