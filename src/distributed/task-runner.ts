/**
 * The remote TaskRunner: each Dataset task descriptor becomes one job on the tasks queue, the same
 * JSON the local pool runs. Its id names the submitter, execution, stage, round, shard and attempt,
 * so every attempt is its own job: a retry after a code error is a new job, and once a job has ended
 * nothing else of it is listened to (a late answer of an abandoned attempt is never read). Worker
 * losses are retried by the queue itself under the job's budget; when the budget is spent the task
 * fails with WorkersKeptDyingError, which no retry of the stage repeats.
 */
import { hostname } from "node:os";
import { packr } from "../dataset/exec/exchange-files.ts";
import type { TaskRunner } from "../dataset/exec/inline.ts";
import { serializeError, type TaskDescriptor, type TaskResult } from "../dataset/exec/task.ts";
import { WorkersKeptDyingError } from "./errors.ts";
import { referencedModules } from "../dataset/fn.ts";
import { codeFingerprint } from "./fingerprint.ts";
import { isJobAnswer, type PrefixProbe, type TaskJobData } from "./payloads.ts";
import type { JobSubmitter } from "./submitter.ts";

export interface RemoteTaskRunnerOptions {
  submitter: JobSubmitter;
  owner: string;
  probe?: PrefixProbe;
  maxWorkerLosses: number;
  /** Tasks of one stage queued at once (default 64). */
  concurrency?: number;
}

export const describeTask = (d: TaskDescriptor) => `${d.label} stage ${d.stageId}${d.round ? ` round ${d.round}` : ""} shard ${d.shard} attempt ${d.attempt}`;

export function taskJobId(owner: string, d: TaskDescriptor): string {
  return `${owner}.${d.executionId}.s${d.stageId}.r${d.round}.p${d.shard}.a${d.attempt}`;
}

export function createRemoteTaskRunner(o: RemoteTaskRunnerOptions): TaskRunner {
  const submitter = `${hostname()}:${process.pid}`;
  return {
    concurrency: o.concurrency ?? 64,
    remote: true,
    async run(desc) {
      const data: TaskJobData = {
        kind: "task",
        owner: o.owner,
        submitter,
        code: codeFingerprint(referencedModules(desc)),
        ...(o.probe ? { probe: o.probe } : {}),
        maxWorkerLosses: o.maxWorkerLosses,
        lossesBefore: 0,
        desc,
      };
      const end = await o.submitter.submit("task", data, taskJobId(o.owner, desc));
      if (end.kind === "unavailable") return { ok: false, error: serializeError(end.error) };
      if (end.kind === "failed") return { ok: false, error: serializeError(new WorkersKeptDyingError(`task ${describeTask(desc)}`, end.reason)) };
      const answer = end.value;
      if (!isJobAnswer(answer) || typeof answer.packed !== "string") {
        return { ok: false, error: serializeError(new Error(`task ${describeTask(desc)}: the worker's answer is not a kiln task result`)) };
      }
      const result: TaskResult = packr.unpack(Buffer.from(answer.packed, "base64"));
      return { ...result, placement: { worker: answer.worker, startedAt: answer.startedAt, endedAt: answer.endedAt } };
    },
    async close() {},
  };
}
