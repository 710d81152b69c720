/**
 * The pool workers' precompiled engine. Loading kiln's TypeScript through tsx in every worker thread
 * costs about 1.4 CPU-s a worker (a loader thread per worker, esbuild transforms per module); one
 * JavaScript file holding the task runner and every module a built-in step's row functions live in
 * loads in about 0.3. This module builds that file with esbuild the first time a pool starts after a
 * source change and keeps it under `<kiln>/node_modules/.cache/kiln-worker/`, named by a key over every
 * bundled source file's path, size and modification time (a changed file gives a new bundle; nothing
 * stale is ever loaded). Each bundled module keeps its own `import.meta.url` (the plugin below writes
 * the original file URL in its place), so function references, sibling paths and package lookups
 * behave as they do unbundled, and a reference to a bundled module is answered from the bundle.
 * Modules outside it (the user's) are still loaded through tsx. `KILN_WORKER_BUNDLE=off` turns it off;
 * a build or write that fails (a read-only install) leaves the workers on tsx, as before.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const KILN_ROOT = path.dirname(SRC);
/** Folders of src/ whose modules a pool worker may be asked to run (the engine, storage and the built-in steps). */
const BUNDLED_FOLDERS = ["dataset", "io", "shuffle", "steps", "tokenizers", "util"];
const TASK_RUNNER = path.join(SRC, "dataset/exec/pool.ts");
/** Bump when the bundle's layout or the entry below changes. */
const BUNDLE_FORMAT = 1;

let building: Promise<string | null> | undefined;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(full, out);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** Every file the bundle is built from, and a key that changes when any of them does. */
function bundleInputs(esbuildVersion: string): { files: string[]; key: string } {
  // One walk of src/: every file goes into the key (a bundled module may import any of them).
  const all = sourceFiles(SRC).sort();
  const hash = createHash("sha256").update(`${BUNDLE_FORMAT}\n${esbuildVersion}\n${process.version}\n`);
  for (const file of all) {
    const st = statSync(file);
    hash.update(`${path.relative(SRC, file)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  const files = all.filter((file) => BUNDLED_FOLDERS.includes(path.relative(SRC, file).split(path.sep)[0]));
  return { files, key: hash.digest("hex").slice(0, 16) };
}

/** The generated entry: the task runner, and each bundled module's namespace under its file URL. */
function entrySource(files: string[]): string {
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
  building ??= process.env.KILN_WORKER_BUNDLE === "off" ? Promise.resolve(null) : buildWorkerBundle().catch(() => null);
  return building;
}

async function buildWorkerBundle(): Promise<string | null> {
  const require = createRequire(import.meta.url);
  const esbuild: typeof import("esbuild") = require("esbuild");
  const { files, key } = bundleInputs(esbuild.version);
  const dir = path.join(KILN_ROOT, "node_modules/.cache/kiln-worker");
  const file = path.join(dir, `worker-${key}.mjs`);
  if (existsSync(file)) return file;
  const result = await esbuild.build({
    stdin: { contents: entrySource(files), resolveDir: SRC, loader: "ts", sourcefile: "kiln-worker-entry.ts" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    write: false,
    logLevel: "silent",
    plugins: [keepModuleUrls(esbuild)],
  });
  mkdirSync(dir, { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, result.outputFiles[0].contents);
  renameSync(temporary, file);
  pruneOldBundles(dir, file);
  return file;
}

/** Bundles kept for older sources (other checkouts' processes may still start workers from them). */
const KEPT_BUNDLES = 8;

/** Removes all but the newest KEPT_BUNDLES bundles; a worker that then misses its file falls back to tsx. */
function pruneOldBundles(dir: string, current: string): void {
  const bundles = readdirSync(dir)
    .filter((name) => /^worker-[0-9a-f]{16}\.mjs$/.test(name))
    .map((name) => path.join(dir, name))
    .filter((p) => p !== current)
    .map((p) => ({ p, mtime: statSync(p).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { p } of bundles.slice(KEPT_BUNDLES - 1)) rmSync(p, { force: true });
}

/** Writes each source module's own file URL where its code (not its strings or comments) reads `import.meta.url`. */
function keepModuleUrls(esbuild: typeof import("esbuild")): import("esbuild").Plugin {
  return {
    name: "kiln-keep-module-urls",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await readFile(args.path, "utf8");
        const define = { "import.meta.url": JSON.stringify(pathToFileURL(args.path).href) };
        const { code } = await esbuild.transform(source, { loader: "ts", format: "esm", sourcefile: args.path, define });
        return { contents: code, loader: "js" };
      });
    },
  };
}
