/**
 * Entry of the lease heartbeat thread. It loads the heartbeat loop from its precompiled file when the
 * main thread hands one over (heartbeat.ts), and otherwise through tsx's `tsImport` (Node 20 worker
 * threads do not pick up TypeScript loaders registered inside them with `register()`).
 */
import { pathToFileURL } from "node:url";
import { workerData } from "node:worker_threads";

async function loadLoop() {
  if (workerData?.bundle) {
    try {
      return await import(pathToFileURL(workerData.bundle).href);
    } catch {
      // A bundle pruned or unreadable since: load the sources instead.
    }
  }
  const { tsImport } = await import("tsx/esm/api");
  return tsImport("./heartbeat-loop.ts", import.meta.url);
}

(await loadLoop()).serveHeartbeats();
