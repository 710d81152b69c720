/**
 * The driver's side of `kiln run --redis`: connect to Redis (failing at once with a clear message
 * when it cannot), keep the driver's presence key, write the prefix probe every worker must read
 * back, say how many workers are live, and give the scheduler the StepExecutor that sends steps to
 * them. Closing removes the probe and the presence key and closes the queue connections.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { fileSystemFor, joinPath } from "../io/index.ts";
import type { StepExecutor } from "../executor/step-runner.ts";
import { DEFAULT_MAX_WORKER_LOSSES, openRedis, queueNames, whenConnected, type RedisTarget } from "./connection.ts";
import { codeFingerprint } from "./fingerprint.ts";
import type { PrefixProbe } from "./payloads.ts";
import { keepPresence, listWorkers } from "./presence.ts";
import { remoteStepExecutor } from "./step-executor.ts";
import { JobSubmitter } from "./submitter.ts";

export interface DriverOptions {
  target: RedisTarget;
  pipelineFile: string;
  prefix: string;
  /** Default 20. */
  maxWorkerLosses?: number;
  /** Tasks of one stage queued at once (default 64). */
  taskConcurrency?: number;
  /** How long Redis may be unreachable before the run fails (default 60 s). */
  redisTimeoutMs?: number;
  log(line: string): void;
}

export interface Driver {
  readonly stepExecutor: StepExecutor;
  close(): Promise<void>;
}

/** Folder under the prefix holding the probes of running drivers. */
export const PROBE_FOLDER = ".kiln-workers";

export async function openDriver(o: DriverOptions): Promise<Driver> {
  // The code as loaded: a pipeline file edited while the run goes on is then refused by the workers.
  const code = codeFingerprint([pathToFileURL(path.resolve(o.pipelineFile)).href]);
  const redis = openRedis(o.target);
  await whenConnected(redis, o.target, Math.min(o.redisTimeoutMs ?? 60_000, 10_000));
  const owner = `${hostname().replace(/[^A-Za-z0-9-]/g, "_")}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const presence = keepPresence(redis, o.target, owner);
  await presence.touch();
  const probe: PrefixProbe = { prefix: o.prefix, path: joinPath(o.prefix, PROBE_FOLDER, `probe-${owner}`), token: randomBytes(16).toString("hex") };
  await fileSystemFor(probe.path).writeAtomic(probe.path, `${probe.token}\n`);
  const redisTimeoutMs = o.redisTimeoutMs ?? 60_000;
  const submitter = new JobSubmitter({ target: o.target, queue: queueNames(o.target).steps, redis, presence, redisTimeoutMs });
  await submitter.ready();
  const workers = await listWorkers(redis, o.target);
  const threads = workers.reduce((n, w) => n + w.threads, 0);
  o.log(
    workers.length
      ? `distributed: ${workers.length} worker${workers.length === 1 ? "" : "s"} (${threads} task threads) on queue ${o.target.queue} at ${o.target.url}`
      : `distributed: no worker is live on queue ${o.target.queue} at ${o.target.url} yet; steps wait in the queue until one starts (kiln worker --redis ${o.target.url})`,
  );
  const maxWorkerLosses = o.maxWorkerLosses ?? DEFAULT_MAX_WORKER_LOSSES;
  const pipelineFile = path.resolve(o.pipelineFile);
  const stepExecutor = remoteStepExecutor({
    submitter,
    owner,
    pipelineFile,
    code,
    probe,
    maxWorkerLosses,
    tasks: { maxWorkerLosses, concurrency: o.taskConcurrency ?? 64, redisTimeoutMs },
  });
  return {
    stepExecutor,
    async close() {
      await submitter.close();
      await fileSystemFor(probe.path).delete(probe.path).catch(() => undefined);
      await presence.close();
      redis.disconnect();
    },
  };
}
