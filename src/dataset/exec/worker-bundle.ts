/**
 * The pool workers' precompiled engine. Loading kiln's TypeScript through tsx in every worker thread
 * costs about 1.4 CPU-s a worker (a loader thread per worker, esbuild transforms per module); one
 * JavaScript file holding the task runner and every module a built-in step's row functions live in
 * loads in about 0.3. This module builds that file with esbuild the first time a pool starts after a
 * source change (util/built-files.ts keys it by every source file and keeps it), and a reference to a
 * bundled module is answered from the bundle.
 * Modules outside it (the user's) come precompiled by the coordinator (user-modules.ts) or through
 * tsx. `KILN_WORKER_BUNDLE=off` turns it off; a build or write that fails (a read-only install)
 * leaves the workers on tsx, as before.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildSourceBundle, kilnSources, sourceBundleFile, sourceBundlesOn, SRC } from "../../util/built-files.ts";

/** Folders of src/ whose modules a pool worker may be asked to run (the engine, storage and the built-in steps). */
const BUNDLED_FOLDERS = ["dataset", "io", "shuffle", "steps", "tokenizers", "util"];
const TASK_RUNNER = path.join(SRC, "dataset/exec/pool.ts");
/** Bump when the bundle's layout or the entry below changes. */
const BUNDLE_FORMAT = 4;

let building: Promise<string | null> | undefined;

/** The source files the bundle holds. */
function bundledFiles(): string[] {
  return kilnSources().files.filter((file) => BUNDLED_FOLDERS.includes(path.relative(SRC, file).split(path.sep)[0]));
}

let bundledUrls: Set<string> | undefined;

/** True when a worker started from the bundle answers `url` (a module file URL) from it. */
export function isBundledModule(url: string): boolean {
  bundledUrls ??= new Set(bundledFiles().map((f) => pathToFileURL(f).href));
  return bundledUrls.has(url);
}

/** The generated entry: the task runner, and each bundled module's namespace under its file URL. */
function entrySource(): string {
  const files = bundledFiles();
  const imports = files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`);
  const table = files.map((f, i) => `  [${JSON.stringify(pathToFileURL(f).href)}, m${i}],`);
  return [
    ...imports,
    `export { runTaskInWorker } from ${JSON.stringify(TASK_RUNNER)};`,
    `export const bundledModules = new Map([`,
    ...table,
    `]);`,
  ].join("\n");
}

/**
 * Path of an up-to-date worker bundle, building it when missing (once per process); null when bundles
 * are off or cannot be built or written here (the workers then load the TypeScript through tsx).
 */
export function workerBundle(): Promise<string | null> {
  building ??= sourceBundlesOn() ? buildWorkerBundle().catch(() => null) : Promise.resolve(null);
  return building;
}

function buildWorkerBundle(): Promise<string> {
  return buildSourceBundle(sourceBundleFile("worker", BUNDLE_FORMAT), entrySource());
}
