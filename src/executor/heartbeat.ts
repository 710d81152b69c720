/**
 * The main-thread side of lease heartbeats. One worker thread per process (heartbeat-worker.mjs)
 * beats every watched lease on its own event loop, so a step that blocks its thread (a long
 * synchronous loop, a huge JSON.parse) keeps its lease. The thread is started on the first watch
 * and kept for the process; it never keeps the process alive by itself. It reports a lost lease
 * as soon as a beat finds it, and answers "stop" once no beat of that lease is in flight any more,
 * so that the lease file can be released safely.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { KilnError } from "../errors.ts";
import { buildSourceBundle, sourceBundleFile, sourceBundlesOn } from "../util/built-files.ts";
import { threadExecArgv } from "../util/thread-argv.ts";
import type { GcsOptions } from "../io/index.ts";
import type { LeaseRecord } from "./lease-record.ts";

const WORKER_ENTRY = new URL("./heartbeat-worker.mjs", import.meta.url);
const LOOP = fileURLToPath(new URL("./heartbeat-loop.ts", import.meta.url));
/** Bump when the heartbeat bundle's entry changes. */
const BUNDLE_FORMAT = 1;

/**
 * The heartbeat loop precompiled into one file (util/built-files.ts), so that the thread starts
 * without tsx: about 0.1 CPU-s where loading its modules through tsx costs about 0.4. When the file is
 * not there yet it is built in the background for the next process, and this thread uses tsx.
 */
function heartbeatBundle(): string | null {
  if (!sourceBundlesOn()) return null;
  try {
    const file = sourceBundleFile("heartbeat", BUNDLE_FORMAT);
    if (existsSync(file)) return file;
    buildSourceBundle(file, `export { serveHeartbeats } from ${JSON.stringify(LOOP)};`).catch(() => undefined);
  } catch {
    // No esbuild or no src/ to read: the thread loads the sources through tsx.
  }
  return null;
}

export interface WatchSpec {
  path: string;
  /** The record the heartbeat rewrites (with a fresh heartbeatAt) while it still holds its token. */
  record: LeaseRecord;
  heartbeatMs: number;
  /** GCS client settings for gs:// leases (the thread has its own copy of the storage module). */
  gcs?: GcsOptions;
}

export type ToHeartbeat = { type: "watch"; id: number; spec: WatchSpec } | { type: "unwatch"; id: number; request: number };

export type FromHeartbeat =
  | { type: "ready" }
  | { type: "lost"; id: number; holder: LeaseRecord | null }
  | { type: "stopped"; request: number };

export class HeartbeatThreadError extends KilnError {
  constructor(detail: string, cause?: unknown) {
    super(
      "KILN_HEARTBEAT",
      `the lease heartbeat thread failed: ${detail}`,
      "the step's lease could not be kept; rerun, and check that tsx is installed and the storage is reachable",
      { cause },
    );
  }
}

export type WatchEvent = { holder: LeaseRecord | null } | { error: KilnError };

export interface LeaseWatch {
  /** Stops beating; resolves when no beat of this lease is in flight. */
  stop(): Promise<void>;
}

interface Pending {
  resolve(): void;
  reject(err: Error): void;
}

class HeartbeatThread {
  private readonly worker: Worker;
  private readonly watchers = new Map<number, (event: WatchEvent) => void>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: KilnError | undefined;
  /** Set once the thread has loaded and serves messages. */
  private ready = false;

  constructor(private readonly onDead: () => void) {
    this.worker = new Worker(WORKER_ENTRY, { execArgv: threadExecArgv(), workerData: { bundle: heartbeatBundle() } });
    this.worker.unref();
    this.worker.on("message", (msg: FromHeartbeat) => this.receive(msg));
    this.worker.on("error", (err) => this.fail(new HeartbeatThreadError(err.message, err)));
    this.worker.on("exit", (code) => this.fail(new HeartbeatThreadError(`it exited with code ${code}`)));
  }

  private receive(msg: FromHeartbeat): void {
    if (msg.type === "ready") {
      this.ready = true;
      return;
    }
    if (msg.type === "lost") {
      this.watchers.get(msg.id)?.({ holder: msg.holder });
      return;
    }
    const waiting = this.pending.get(msg.request);
    if (!waiting) return;
    this.pending.delete(msg.request);
    this.refreshRef();
    waiting.resolve();
  }

  private fail(err: KilnError): void {
    if (this.failure) return;
    this.failure = err;
    this.onDead();
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const notify of this.watchers.values()) notify({ error: err });
    this.watchers.clear();
  }

  /** Keeps the process alive only while a reply is awaited. */
  private refreshRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private ask(message: ToHeartbeat & { request: number }): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(message.request, { resolve, reject });
      this.refreshRef();
      this.worker.postMessage(message);
    });
  }

  watch(spec: WatchSpec, notify: (event: WatchEvent) => void): LeaseWatch {
    const id = this.nextId++;
    this.watchers.set(id, notify);
    this.worker.postMessage({ type: "watch", id, spec } satisfies ToHeartbeat);
    let stopped: Promise<void> | undefined;
    return {
      stop: () => {
        stopped ??= (async () => {
          this.watchers.delete(id);
          if (this.failure) return;
          const stopping = this.ask({ type: "unwatch", id, request: this.nextId++ });
          // A thread still loading has not beaten yet; it reads "watch" and "unwatch" in order.
          if (this.ready) await stopping;
          else stopping.catch(() => undefined);
        })();
        return stopped;
      },
    };
  }
}

let shared: HeartbeatThread | undefined;

/** Starts beating a lease on the shared heartbeat thread; `notify` hears of a loss or a thread failure, once. */
export function watchLease(spec: WatchSpec, notify: (event: WatchEvent) => void): LeaseWatch {
  const thread = shared ?? new HeartbeatThread(() => {
    if (shared === thread) shared = undefined;
  });
  shared = thread;
  return thread.watch(spec, notify);
}
