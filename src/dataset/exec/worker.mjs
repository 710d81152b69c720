/**
 * Worker-thread entry of the dataset pool. When the pool hands it a precompiled bundle of the engine
 * (worker-bundle.ts), the task runner and the built-in steps' modules come from that one JavaScript
 * file; a module outside it (the user's) comes from the file the coordinator precompiled it into
 * (user-modules.ts), named in the task, or else through tsx's `tsImport`. Otherwise, or when the
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

/** Module file URL → the file the coordinator precompiled it into (gathered from the tasks). */
const precompiled = new Map();

async function importTypeScript(url) {
  const file = precompiled.get(url);
  if (file === undefined) return tsImport(url, import.meta.url);
  const fileUrl = pathToFileURL(file).href;
  try {
    return await import(fileUrl);
  } catch (err) {
    // Removed meanwhile (another process pruned the cache): the module itself, through tsx.
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || !String(err.message).includes(file)) throw err;
    precompiled.delete(url);
    return tsImport(url, import.meta.url);
  }
}

async function fromBundle(file) {
  try {
    const bundle = await import(pathToFileURL(file).href);
    const importer = (url) => (/\.[cm]?tsx?$/.test(new URL(url).pathname) ? importTypeScript(url) : import(url));
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

/** A task from the pool: its descriptor and the precompiled files of its functions' modules. */
export default function runTask({ desc, precompiledModules }) {
  for (const [url, file] of Object.entries(precompiledModules)) precompiled.set(url, file);
  return run(desc);
}
