/**
 * One step job, inside a step thread of a worker (loaded through step-thread.mjs): find the step in
 * the pipeline module by its version, check that its `run` source is the driver's, point the step's
 * Dataset executions at the tasks queue, and run it through the same step runner as a local run
 * (lease, staging, commit, info.json, SUCCESS last). Log lines go to the worker's main thread, which
 * sends them to the driver. The thread keeps its pipeline module and its Redis connections for the
 * next step job it gets.
 */
import "../io/index.ts";
import { hostname } from "node:os";
import { threadId, type MessagePort } from "node:worker_threads";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { setStepRunner } from "../dataset/step.ts";
import { serializeError } from "../dataset/exec/task.ts";
import { buildGraph, type Graph, type StepNode } from "../graph/dag.ts";
import { loadPipeline } from "../graph/pipeline.ts";
import { TransferBudget } from "../executor/regions.ts";
import { codeFingerprint as stepCodeFingerprint } from "../executor/step-notes.ts";
import { executeStep, newOwnerId, type RunEnvironment, type StepOutcome } from "../executor/step-runner.ts";
import { joinPath } from "../io/index.ts";
import { openRedis, queueNames, type RedisTarget } from "./connection.ts";
import { CodeMismatchError } from "./errors.ts";
import { moduleFingerprint } from "./fingerprint.ts";
import type { RemoteOutcome, StepJobData } from "./payloads.ts";
import { keepPresence } from "./presence.ts";
import { toRemoteOutcome } from "./step-executor.ts";
import { JobSubmitter } from "./submitter.ts";
import { createRemoteTaskRunner } from "./task-runner.ts";

export interface StepThreadInput {
  data: StepJobData;
  /** Receives the step's log lines. */
  port: MessagePort;
  target: RedisTarget;
  /** `host:pid` of this worker, for messages. */
  worker: string;
}

let pipeline: { file: string; hash: string; graph: Graph } | undefined;
let tasks: { submitter: JobSubmitter; owner: string } | undefined;

async function findStep(data: StepJobData, worker: string): Promise<StepNode> {
  const url = pathToFileURL(data.pipelineFile).href;
  if (!pipeline || pipeline.file !== data.pipelineFile) {
    const hash = moduleFingerprint(url);
    pipeline = { file: data.pipelineFile, hash, graph: buildGraph((await loadPipeline(data.pipelineFile)).steps) };
  }
  if (data.code.modules[url] !== undefined && pipeline.hash !== data.code.modules[url]) {
    throw new CodeMismatchError(worker, `its step thread loaded another version of ${data.pipelineFile} (${pipeline.hash}, the driver's ${data.code.modules[url]}); restart the worker`);
  }
  const node = pipeline.graph.byVersion.get(data.version);
  if (!node) throw new CodeMismatchError(worker, `${data.pipelineFile} here has no step '${data.name}' of version ${data.version.slice(0, 8)}`);
  const code = stepCodeFingerprint(node);
  if (code !== data.stepCode) throw new CodeMismatchError(worker, `step '${node.name}' has other run() code here (${code}) than on the driver (${data.stepCode})`);
  return node;
}

/** This thread's sender of task jobs (one per thread, kept across step jobs). */
function taskSubmitter(target: RedisTarget, data: StepJobData): { submitter: JobSubmitter; owner: string } {
  if (!tasks) {
    const redis = openRedis(target);
    const owner = `${hostname().replace(/[^A-Za-z0-9-]/g, "_")}-${process.pid}-t${threadId}-${randomBytes(3).toString("hex")}`;
    const presence = keepPresence(redis, target, owner);
    const submitter = new JobSubmitter({ target, queue: queueNames(target).tasks, redis, presence, redisTimeoutMs: data.tasks.redisTimeoutMs });
    tasks = { submitter, owner };
  }
  return tasks;
}

function dependencies(node: StepNode, data: StepJobData): Map<StepNode, StepOutcome> {
  const byVersion = new Map(data.deps.map((d) => [d.version, d]));
  const deps = new Map<StepNode, StepOutcome>();
  for (const edge of node.deps) {
    const d = byVersion.get(edge.node.version);
    if (!d) throw new CodeMismatchError("", `the driver sent no outcome for dependency '${edge.node.name}' of '${node.name}'`);
    deps.set(edge.node, { node: edge.node, state: d.state, outputPath: d.outputPath, result: d.result, durationMs: 0 });
  }
  return deps;
}

function environment(data: StepJobData, log: (line: string) => void): RunEnvironment {
  const r = data.run;
  return {
    prefix: r.prefix,
    regions: r.regions,
    regionPolicy: r.regionPolicy,
    budget: new TransferBudget(r.transferBudgetBytes),
    timing: r.timing,
    pollMs: r.pollMs,
    owner: newOwnerId(),
    forceFailed: r.forceFailed,
    isForced: () => r.forced,
    gitCommit: r.gitCommit,
    quietMs: r.quietMs,
    log,
  };
}

export async function runStepJob(input: StepThreadInput): Promise<RemoteOutcome> {
  const { data, port } = input;
  const started = Date.now();
  try {
    const node = await findStep(data, input.worker);
    const { submitter, owner } = taskSubmitter(input.target, data);
    await submitter.ready();
    const runner = createRemoteTaskRunner({ submitter, owner, probe: data.probe, maxWorkerLosses: data.tasks.maxWorkerLosses, concurrency: data.tasks.concurrency });
    setStepRunner(() => runner);
    return toRemoteOutcome(await executeStep(node, dependencies(node, data), environment(data, (line) => port.postMessage(line))));
  } catch (err) {
    const outputPath = joinPath(data.run.prefix, `${data.name}-${data.version.slice(0, 8)}`);
    return { state: "failed", outputPath, error: serializeError(err), durationMs: Date.now() - started };
  } finally {
    setStepRunner(undefined);
    port.close();
  }
}
