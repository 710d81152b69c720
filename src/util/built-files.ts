/**
 * JavaScript files kiln generates for itself with esbuild and keeps under
 * `<kiln>/node_modules/.cache/kiln-worker/`: precompiled parts of kiln's own TypeScript for its
 * worker threads (the pool's engine, the lease heartbeat), the user's function modules bundled for
 * the pool's workers, and single-file builds of packages whose ESM build is hundreds of files. Each
 * file is named by a key over what it is built from (a changed input gives a new name; nothing stale
 * is loaded), written atomically, and all but the newest few of its kind are removed. A bundle keeps
 * each module's own `import.meta.url` (the plugin below writes the original file URL in its place,
 * and its dirname and filename), so sibling paths, package lookups and function references behave as
 * they do unbundled. `KILN_WORKER_BUNDLE=off` turns source bundles off.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BuildOptions, Plugin } from "esbuild";

export const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const KILN_ROOT = path.dirname(SRC);
export const BUILT_DIR = path.join(KILN_ROOT, "node_modules/.cache/kiln-worker");
/** Files kept per kind (other checkouts' processes may still load older ones). */
const KEPT_PER_KIND = 8;
/** Kinds with one file per user module rather than one per source change keep more. */
const KEPT_OF_KIND: Record<string, number> = { user: 64 };

const require = createRequire(import.meta.url);

/** esbuild, loaded on first use. */
export function loadEsbuild(): typeof import("esbuild") {
  return require("esbuild");
}

/** An installed package's version, read from its package.json without loading the package. */
export function packageVersion(name: string): string {
  const { version }: { version: string } = JSON.parse(readFileSync(path.join(KILN_ROOT, "node_modules", name, "package.json"), "utf8"));
  return version;
}

/** Path of the built file of `kind` with `key` (it may not exist yet). */
export function builtFile(kind: string, key: string): string {
  return path.join(BUILT_DIR, `${kind}-${key}.mjs`);
}

/** True when bundles of kiln's sources are on (`KILN_WORKER_BUNDLE=off` turns them off). */
export const sourceBundlesOn = () => process.env.KILN_WORKER_BUNDLE !== "off";

let sources: { files: string[]; digest: string } | undefined;

/** Every .ts file of src/, sorted, and a digest over their paths, sizes and modification times (one walk per process). */
export function kilnSources(): { files: string[]; digest: string } {
  if (sources) return sources;
  const files = walk(SRC).sort();
  const hash = createHash("sha256").update(`${packageVersion("esbuild")}\n${process.version}\n`);
  for (const file of files) {
    const st = statSync(file);
    hash.update(`${path.relative(SRC, file)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  sources = { files, digest: hash.digest("hex") };
  return sources;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** The file of a source bundle of `kind`, keyed by every source file and the bundle's own format. */
export function sourceBundleFile(kind: string, format: number): string {
  return builtFile(kind, createHash("sha256").update(`${format}\n${kilnSources().digest}`).digest("hex").slice(0, 16));
}

/**
 * One ESM file for Node 20 built by esbuild from `options`, in memory (esbuild writes nothing
 * itself), and the absolute paths of the files it was built from.
 */
export async function buildToMemory(options: BuildOptions): Promise<{ contents: Uint8Array; inputs: string[] }> {
  const result = await loadEsbuild().build({ ...options, bundle: true, format: "esm", platform: "node", target: "node20", write: false, logLevel: "silent", metafile: true });
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(options.absWorkingDir ?? process.cwd(), p));
  return { contents: result.outputFiles[0].contents, inputs };
}

/** `file` when it exists, else built from `options` (buildToMemory) and written atomically. */
export async function builtOnce(file: string, options: BuildOptions): Promise<string> {
  if (existsSync(file)) return file;
  writeBuiltFile(file, (await buildToMemory(options)).contents);
  return file;
}

/** Bundles kiln sources (packages stay in node_modules) from `entry` (TypeScript, resolved in src/) into `file`, unless it exists. */
export function buildSourceBundle(file: string, entry: string): Promise<string> {
  return builtOnce(file, {
    stdin: { contents: entry, resolveDir: SRC, loader: "ts", sourcefile: "kiln-entry.ts" },
    packages: "external",
    plugins: [keepModuleUrls(loadEsbuild())],
  });
}

/** Writes a built file atomically and prunes older files of its kind. */
export function writeBuiltFile(file: string, contents: Uint8Array): void {
  mkdirSync(BUILT_DIR, { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
  pruneOlder(file);
}

/** Removes all but the newest few files of `file`'s kind (KEPT_PER_KIND); a loader that then misses its file falls back. */
function pruneOlder(current: string): void {
  const kind = /^(.*)-[0-9a-f]{16}\.mjs$/.exec(path.basename(current))?.[1];
  if (!kind) return;
  const pattern = new RegExp(`^${kind}-[0-9a-f]{16}\\.mjs$`);
  const older = readdirSync(BUILT_DIR)
    .filter((name) => pattern.test(name))
    .map((name) => path.join(BUILT_DIR, name))
    .filter((p) => p !== current)
    .map((p) => ({ p, mtime: statSync(p).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { p } of older.slice((KEPT_OF_KIND[kind] ?? KEPT_PER_KIND) - 1)) rmSync(p, { force: true });
}

/** What a module's `import.meta.url`, `.dirname` and `.filename` read as in a bundle: its own file's. */
function ownLocation(file: string): Record<string, string> {
  return {
    "import.meta.url": JSON.stringify(pathToFileURL(file).href),
    "import.meta.dirname": JSON.stringify(path.dirname(file)),
    "import.meta.filename": JSON.stringify(file),
  };
}

const LOADERS: Record<string, "ts" | "tsx" | "js" | "jsx"> = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "jsx" };

/**
 * Writes each bundled module's own location where its code (not its strings or comments) reads
 * `import.meta.url` (or `.dirname`, `.filename`). `refuse` may name why a module cannot be bundled
 * (the build then fails with that reason).
 */
export function keepModuleUrls(esbuild: typeof import("esbuild"), refuse?: (file: string, source: string) => string | undefined): Plugin {
  return {
    name: "kiln-keep-module-urls",
    setup(build) {
      build.onLoad({ filter: /\.(?:[cm]?[jt]s|[jt]sx)$/ }, async (args) => {
        const loader = LOADERS[path.extname(args.path)];
        if (!loader || args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, "utf8");
        const refused = refuse?.(args.path, source);
        if (refused) return { errors: [{ text: refused }] };
        const { code } = await esbuild.transform(source, { loader, format: "esm", sourcefile: args.path, define: ownLocation(args.path) });
        return { contents: code, loader: "js" };
      });
    },
  };
}
