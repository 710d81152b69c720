/**
 * What a worker checks before it runs a job it picked up, in order: the budget of worker losses
 * (a job started again after its last worker died counts one more; past the budget it fails for
 * good), its submitter's presence (the queued work of a killed driver is dropped), the code
 * fingerprint (other kiln or pipeline code refuses), and the driver's prefix probe (a worker that
 * cannot read it refuses). A refusal is answered as a failed, non-retryable result, so the step
 * fails at once with the worker's message.
 */
import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { Redis } from "ioredis";
import { describeError } from "../errors.ts";
import { fileSystemFor } from "../io/index.ts";
import type { RedisTarget } from "./connection.ts";
import { CodeMismatchError, lossReason, PrefixUnreachableError } from "./errors.ts";
import { codeDifference } from "./fingerprint.ts";
import type { PrefixProbe, StepJobData, TaskJobData } from "./payloads.ts";
import { submitterAlive } from "./presence.ts";

/** Why a worker stopped holding a job it was running, when BullMQ has no failure of it: its lock ran out. */
const STALLED = "the worker stopped renewing the job's lock: killed, frozen or cut off from Redis";

/** Throws (ending the job for good) when the job's workers were lost as often as its budget allows. */
export function checkLosses(job: Job, data: TaskJobData | StepJobData): void {
  const losses = data.lossesBefore + Math.max(0, job.attemptsStarted - 1);
  if (losses >= data.maxWorkerLosses) throw new UnrecoverableError(lossReason(losses, job.failedReason || STALLED));
}

export async function submitterGone(redis: Redis, target: RedisTarget, owner: string): Promise<boolean> {
  try {
    return !(await submitterAlive(redis, target, owner));
  } catch {
    return false; // Redis hiccup: run the job rather than drop live work
  }
}

const probesSeen = new Set<string>();

async function checkProbe(worker: string, probe: PrefixProbe): Promise<Error | undefined> {
  const key = `${probe.path}\0${probe.token}`;
  if (probesSeen.has(key)) return undefined;
  let content: string;
  try {
    content = (await fileSystemFor(probe.path).read(probe.path)).toString("utf8").trim();
  } catch (err) {
    return new PrefixUnreachableError(worker, probe.prefix, `cannot read ${probe.path}: ${describeError(err)}`);
  }
  if (content !== probe.token) return new PrefixUnreachableError(worker, probe.prefix, `${probe.path} here holds other content than the driver wrote (another folder at the same path?)`);
  probesSeen.add(key);
  return undefined;
}

/** The reason this worker refuses the job, or undefined when it may run it. */
export async function refusal(worker: string, data: TaskJobData | StepJobData): Promise<Error | undefined> {
  const differs = codeDifference(data.code);
  if (differs) return new CodeMismatchError(worker, differs);
  return data.probe ? checkProbe(worker, data.probe) : undefined;
}
