/**
 * What the heartbeat thread runs: a timer per watched lease that rewrites the lease (heartbeatOnce)
 * every heartbeat interval, on this thread's own event loop, with the same storage backends as
 * the main thread. Beats of one lease never overlap; a beat that finds the lease taken reports it
 * and stops. A storage error in a beat is retried at the next tick (staleness protects the others
 * if it never recovers).
 */
import { parentPort } from "node:worker_threads";
import { configureGcs, fileSystemFor, type FileSystem } from "../io/index.ts";
import type { FromHeartbeat, ToHeartbeat, WatchSpec } from "./heartbeat.ts";
import { heartbeatOnce } from "./lease-record.ts";

interface Watched {
  spec: WatchSpec;
  fs: FileSystem;
  timer: NodeJS.Timeout;
  /** The beat running now, if any: beats of one lease never overlap. */
  inFlight: Promise<void> | undefined;
  lost: boolean;
}

export function serveHeartbeats(): void {
  const port = parentPort;
  if (!port) throw new Error("heartbeat-loop.ts runs only inside the heartbeat worker thread");
  const watched = new Map<number, Watched>();
  let gcsSettings = "";
  const send = (msg: FromHeartbeat): void => port.postMessage(msg);

  const beat = async (id: number, w: Watched): Promise<void> => {
    const outcome = await heartbeatOnce(w.fs, w.spec.path, w.spec.record);
    if (!outcome.held && !w.lost) {
      w.lost = true;
      clearInterval(w.timer);
      send({ type: "lost", id, holder: outcome.holder });
    }
  };

  const watch = (id: number, spec: WatchSpec): void => {
    if (spec.gcs && JSON.stringify(spec.gcs) !== gcsSettings) {
      gcsSettings = JSON.stringify(spec.gcs);
      configureGcs(spec.gcs);
    }
    const tick = (): void => {
      // Skipped while the previous beat still runs (slow storage must not pile beats up).
      if (w.inFlight || w.lost) return;
      w.inFlight = beat(id, w)
        .catch(() => undefined)
        .finally(() => (w.inFlight = undefined));
    };
    const w: Watched = { spec, fs: fileSystemFor(spec.path), timer: setInterval(tick, spec.heartbeatMs), inFlight: undefined, lost: false };
    watched.set(id, w);
  };

  port.on("message", (msg: ToHeartbeat) => {
    if (msg.type === "watch") return watch(msg.id, msg.spec);
    const w = watched.get(msg.id);
    watched.delete(msg.id);
    if (w) clearInterval(w.timer);
    void (w?.inFlight ?? Promise.resolve()).then(() => send({ type: "stopped", request: msg.request }));
  });
  send({ type: "ready" });
}
