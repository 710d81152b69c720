/**
 * Entry of the lease heartbeat thread. Node 20 worker threads do not pick up TypeScript loaders
 * registered inside them with `register()`, so this plain-JS file loads the heartbeat loop through
 * tsx's `tsImport`.
 */
import { tsImport } from "tsx/esm/api";

const loop = await tsImport("./heartbeat-loop.ts", import.meta.url);
loop.serveHeartbeats();
