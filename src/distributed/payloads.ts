/**
 * What travels through the queues, as plain JSON. A task job carries one Dataset task descriptor,
 * exactly what the local pool runs; a step job names a step of a pipeline module by version, with
 * the run's settings and its dependencies' outcomes. Both carry their submitter's presence key, the
 * code fingerprint the worker must match, the driver's prefix probe and the budget of worker losses.
 * A worker answers with where and when it ran the job and the result: a task's result msgpack-encoded
 * (it may hold binary rows), a step's outcome as JSON.
 */
import type { LeaseTiming } from "../executor/lease.ts";
import type { OutcomeState } from "../executor/step-runner.ts";
import type { RegionPolicy } from "../executor/regions.ts";
import type { SerializedError, TaskDescriptor } from "../dataset/exec/task.ts";
import type { CodeFingerprint } from "./fingerprint.ts";

/** A file the driver wrote under its prefix: a worker that cannot read it back cannot see the prefix. */
export interface PrefixProbe {
  prefix: string;
  path: string;
  token: string;
}

interface JobBase {
  /** The submitter's presence id (see presence.ts). */
  owner: string;
  /** `host:pid` of the submitter, for messages. */
  submitter: string;
  code: CodeFingerprint;
  probe?: PrefixProbe;
  /** Worker losses (deaths, stalls, jobs Redis lost) the job survives; the next one fails it. */
  maxWorkerLosses: number;
  /** Losses counted before this job was queued (it replaces a job Redis lost). */
  lossesBefore: number;
}

export interface TaskJobData extends JobBase {
  kind: "task";
  desc: TaskDescriptor;
}

/** What a step running on a worker needs of the driver's run options. */
export interface RemoteRunSettings {
  prefix: string;
  regions: string[];
  regionPolicy: RegionPolicy;
  transferBudgetBytes: number;
  timing: LeaseTiming;
  pollMs: number;
  quietMs: number;
  forced: boolean;
  forceFailed: boolean;
  gitCommit: string | null;
}

/** How the step's Dataset tasks are sent back to the queue. */
export interface RemoteTaskSettings {
  maxWorkerLosses: number;
  /** Tasks of one stage queued at once. */
  concurrency: number;
  redisTimeoutMs: number;
}

export interface RemoteDependency {
  version: string;
  state: OutcomeState;
  outputPath: string;
  result?: unknown;
}

export interface StepJobData extends JobBase {
  kind: "step";
  pipelineFile: string;
  name: string;
  version: string;
  /** Fingerprint of the step's `run` source (as info.json records it). */
  stepCode: string;
  run: RemoteRunSettings;
  deps: RemoteDependency[];
  tasks: RemoteTaskSettings;
}

/** A step's outcome as it crosses back to the driver. */
export interface RemoteOutcome {
  state: OutcomeState;
  outputPath: string;
  result?: unknown;
  error?: SerializedError;
  durationMs: number;
  detail?: string;
}

/** A worker's answer to a job (its return value in BullMQ). */
export interface JobAnswer {
  /** `host:pid` of the worker process. */
  worker: string;
  startedAt: string;
  endedAt: string;
  /** Task jobs: the TaskResult, msgpack, base64. */
  packed?: string;
  /** Step jobs. */
  outcome?: RemoteOutcome;
  /** Set when the worker did not run the job because its submitter is gone. */
  dropped?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function isJobBase(v: Record<string, unknown>): boolean {
  return typeof v.owner === "string" && typeof v.submitter === "string" && isObject(v.code) && typeof v.maxWorkerLosses === "number";
}

export function isTaskJob(v: unknown): v is TaskJobData {
  return isObject(v) && v.kind === "task" && isJobBase(v) && isObject(v.desc);
}

export function isStepJob(v: unknown): v is StepJobData {
  return isObject(v) && v.kind === "step" && isJobBase(v) && typeof v.pipelineFile === "string" && typeof v.version === "string" && Array.isArray(v.deps);
}

export function isJobAnswer(v: unknown): v is JobAnswer {
  return isObject(v) && typeof v.worker === "string" && typeof v.startedAt === "string";
}
