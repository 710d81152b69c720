/**
 * What the heartbeat thread runs: a timer per watched lease that rewrites the lease (heartbeatOnce)
 * every heartbeat interval, on this thread's own event loop, with the same storage backends as
 * the main thread. Beats of one lease never overlap; a periodic beat that finds the lease taken
 * reports it and stops. A storage error in a periodic beat is retried at the next tick (staleness
 * protects the others if it never recovers); in a "beat now" it is sent back as the answer.
 */
import { parentPort } from "node:worker_threads";
import { configureGcs, fileSystemFor, type FileSystem } from "../io/index.ts";
import type { FromHeartbeat, ToHeartbeat, WatchSpec } from "./heartbeat.ts";
import { heartbeatOnce, type BeatOutcome } from "./lease.ts";

interface Watched {
  spec: WatchSpec;
  fs: FileSystem;
  timer: NodeJS.Timeout;
  /** Settles after the last queued beat; beats of one lease run one after another. */
  queue: Promise<void>;
  queued: number;
  lost: boolean;
}

export function serveHeartbeats(): void {
  const port = parentPort;
  if (!port) throw new Error("heartbeat-loop.ts runs only inside the heartbeat worker thread");
  const watched = new Map<number, Watched>();
  let gcsSettings = "";
  const send = (msg: FromHeartbeat): void => port.postMessage(msg);

  /** Queues one beat of `w`; reports a loss once. */
  const beat = (id: number, w: Watched): Promise<BeatOutcome> => {
    w.queued++;
    const run = w.queue.then(async () => {
      const outcome = await heartbeatOnce(w.fs, w.spec.path, w.spec.record);
      if (!outcome.held && !w.lost) {
        w.lost = true;
        clearInterval(w.timer);
        send({ type: "lost", id, holder: outcome.holder });
      }
      return outcome;
    });
    const settled = (): void => void w.queued--;
    w.queue = run.then(settled, settled);
    return run;
  };

  const watch = (id: number, spec: WatchSpec): void => {
    if (spec.gcs && JSON.stringify(spec.gcs) !== gcsSettings) {
      gcsSettings = JSON.stringify(spec.gcs);
      configureGcs(spec.gcs);
    }
    const tick = (): void => {
      // A periodic beat is skipped while another is queued (slow storage must not pile them up).
      if (w.queued === 0 && !w.lost) beat(id, w).catch(() => undefined);
    };
    const w: Watched = { spec, fs: fileSystemFor(spec.path), timer: setInterval(tick, spec.heartbeatMs), queue: Promise.resolve(), queued: 0, lost: false };
    watched.set(id, w);
  };

  const answer = (request: number, work: () => Promise<BeatOutcome | undefined>): void => {
    work().then(
      (outcome) => send({ type: "reply", request, outcome }),
      (err: unknown) => send({ type: "reply", request, error: err instanceof Error ? err.message : String(err) }),
    );
  };

  port.on("message", (msg: ToHeartbeat) => {
    if (msg.type === "watch") return watch(msg.id, msg.spec);
    const w = watched.get(msg.id);
    if (msg.type === "beat-now") {
      return answer(msg.request, async () => {
        if (!w) throw new Error(`no lease is watched under id ${msg.id}`);
        return beat(msg.id, w);
      });
    }
    answer(msg.request, async () => {
      if (!w) return undefined;
      clearInterval(w.timer);
      watched.delete(msg.id);
      await w.queue;
      return undefined;
    });
  });
}
