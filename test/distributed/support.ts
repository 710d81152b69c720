/**
 * What the distributed tests share: a real `redis-server` on a free loopback port (started by the
 * test, without persistence, stopped after the test file; `start` brings it back empty on the same
 * port), and real `kiln worker` processes, waited for until they say they are ready.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll } from "vitest";
import { startKiln, waitFor, type CliResult } from "../support/kiln-cli.ts";
import { hasRedisServer, launchRedis, type RedisServer } from "../support/redis-server.ts";

export const hasRedis = hasRedisServer;
if (!hasRedis) console.log("redis-server is not installed (apt-get install redis-server): the distributed tests are skipped");

export type TestRedis = RedisServer;

// What a test file started, stopped when the file ends (workers before their Redis). vitest only
// honours hooks registered while it collects a file, not ones registered inside a test or another
// hook, so the one hook is registered here, at import, and tests add to the list.
const stopAtEnd: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const stop of stopAtEnd.splice(0).reverse()) await stop().catch(() => undefined);
});

/** Adds something a test started to what is stopped when the test file ends. */
export function stopWhenFileEnds(stop: () => Promise<unknown>): void {
  stopAtEnd.push(stop);
}

/** SIGKILLs a child process unless it has ended, and waits for it to close. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((r) => child.once("close", r));
  child.kill("SIGKILL");
  await closed;
}

/** A redis-server for this test file, stopped when the file ends. */
export async function startRedis(): Promise<TestRedis> {
  const redis = await launchRedis();
  stopWhenFileEnds(() => redis.kill());
  return redis;
}

export interface TestWorker {
  child: ChildProcess;
  pid: number;
  done: Promise<CliResult>;
  stderr(): string;
  /** SIGTERM, and wait for the process to end. */
  stop(): Promise<CliResult>;
}

/** Short locks, so that a killed worker's job runs again within about 3 s. */
export const FAST_STALL = ["--lock-ms", "2000", "--stalled-interval-ms", "1000"];

/** Starts `kiln worker` and waits until it is taking jobs; stopped when the test file ends. */
export async function startWorker(url: string, args: string[] = [], env: Record<string, string> = {}): Promise<TestWorker> {
  const run = startKiln(["worker", "--redis", url, ...args], env);
  let err = "";
  run.child.stderr!.on("data", (d) => (err += d));
  const ended = { yes: false };
  void run.done.then(() => (ended.yes = true));
  await waitFor("a kiln worker to be ready", () => err.includes(" ready: ") || ended.yes, { timeoutMs: 60_000 });
  if (ended.yes) throw new Error(`kiln worker exited: ${err}`);
  const worker: TestWorker = {
    child: run.child,
    pid: run.child.pid!,
    done: run.done,
    stderr: () => err,
    async stop() {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM");
      return run.done;
    },
  };
  stopWhenFileEnds(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    await run.done;
  });
  return worker;
}
