/**
 * Worker-thread entry of the dataset pool. When the pool hands it a precompiled bundle of the engine
 * (worker-bundle.ts), the task runner and the built-in steps' modules come from that one JavaScript
 * file, and only modules outside it (the user's) go through tsx's `tsImport`. Otherwise, or when the
 * bundle does not load, everything is loaded through `tsImport` (Node 20 worker threads do not pick
 * up TypeScript loaders registered inside them with `register()`); its namespaced loader also handles
 * every module the runner imports later (including user-function modules given as file URLs).
 */
import { pathToFileURL } from "node:url";
import { Piscina } from "piscina";

/** tsx's API, loaded on the first TypeScript import (74-76 CPU-ms in a worker thread): a worker running only bundled modules never needs it. */
async function tsImport(url, parent) {
  const api = await import("tsx/esm/api");
  return api.tsImport(url, parent);
}

async function fromBundle(file) {
  try {
    const bundle = await import(pathToFileURL(file).href);
    const importer = (url) => (/\.[cm]?tsx?$/.test(new URL(url).pathname) ? tsImport(url, import.meta.url) : import(url));
    const loader = bundle.bundledModules.get(new URL("./module-loader.ts", import.meta.url).href);
    loader.useBundledModules(bundle.bundledModules, importer);
    // Which engine this thread runs, for tests and diagnostics.
    globalThis[Symbol.for("kiln.workerBundle")] = file;
    return bundle.runTaskInWorker;
  } catch {
    return undefined;
  }
}

const bundleFile = Piscina.workerData?.kilnWorkerBundle;
const run = (bundleFile && (await fromBundle(bundleFile))) ?? (await tsImport("./pool.ts", import.meta.url)).runTaskInWorker;

export default run;
