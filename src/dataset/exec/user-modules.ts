/**
 * The user's function modules, precompiled for the pool workers. A worker that imports a TypeScript
 * module through tsx's `tsImport` pays about 0.3 CPU-s before the module runs (tsx and esbuild's API
 * loaded into the thread, a loader thread of its own, a transform per file), about 1 CPU-s when the
 * module imports kiln. The coordinator instead bundles each module a task refers to, with the local
 * files it imports and kiln itself when it imports kiln by name, into one JavaScript file under
 * `node_modules/.cache/kiln-worker/` (util/built-files.ts), and the task tells its worker where that
 * file is. The file's first line stamps what it was built from (each file's size and mtime): a later
 * process whose files are unchanged uses it without building. Other packages stay imports. Each
 * module's graph is its own copy, as under `tsImport`, which gives every call a namespace of its own.
 * The bundle keeps every module's own `import.meta.url`, `.dirname` and `.filename`; a module whose
 * code would behave differently from another file (any other use of `import.meta`, an `import()` of
 * a computed specifier, a package that the cache folder would resolve to another copy) is not
 * bundled and its workers load it through tsx as before, as they do when the build fails or the
 * workers run without the engine bundle (`KILN_WORKER_BUNDLE=off`; the pool then asks for no files).
 */
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync, utimesSync } from "node:fs";
import { isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { BUILT_DIR, buildToMemory, builtFile, keepModuleUrls, loadEsbuild, packageVersion, SRC, writeBuiltFile } from "../../util/built-files.ts";
import { packageFolder, packageNameOf } from "../../util/packages.ts";
import { referencedModules } from "../fn.ts";
import { withoutLoaderNamespace } from "./resolve.ts";
import type { TaskDescriptor } from "./task.ts";
import { isBundledModule } from "./worker-bundle.ts";

/** Module file URL → its precompiled file, as a task hands them to its worker. */
export type PrecompiledModules = Record<string, string>;

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;
const built = new Map<string, Promise<string | null>>();

/** The precompiled files of the TypeScript modules outside the engine bundle that `desc`'s functions live in (built on first use). */
export async function precompiledModules(desc: TaskDescriptor): Promise<PrecompiledModules> {
  const urls = [...referencedModules(desc)].map(withoutLoaderNamespace).filter(needsBuild);
  const files = await Promise.all(urls.map(precompiled));
  return Object.fromEntries(urls.flatMap((url, i) => (files[i] ? [[url, files[i]]] : [])));
}

function needsBuild(url: string): boolean {
  return url.startsWith("file:") && TYPESCRIPT.test(new URL(url).pathname) && !isBundledModule(url);
}

/** The module's precompiled file, or null when it cannot be bundled faithfully (its workers then use tsx). */
export function precompiled(url: string): Promise<string | null> {
  let file = built.get(url);
  if (!file) {
    file = buildUserModule(fileURLToPath(url)).catch(() => null);
    built.set(url, file);
  }
  return file;
}

/** Bump when what a user module's file holds changes (the plugins below, the stamp line). */
const USER_BUILD_FORMAT = 1;
/** The first line of a precompiled user module: what it was built from, each file with its size and mtime. */
const STAMP_PREFIX = "// kiln-built-from ";
type Stamp = [file: string, size: number, mtimeMs: number];

/** The module's precompiled file, kept from an earlier build while every file it was built from is unchanged. */
export async function buildUserModule(entry: string): Promise<string> {
  const key = createHash("sha256").update(`${USER_BUILD_FORMAT}\n${packageVersion("esbuild")}\n${process.version}\n${entry}`).digest("hex");
  const file = builtFile("user", key.slice(0, 16));
  if (upToDate(file)) {
    utimesSync(file, new Date(), new Date()); // newest again, so that pruning keeps it
    return file;
  }
  const started = Date.now();
  const { contents, inputs } = await buildToMemory({
    entryPoints: [entry],
    packages: "external",
    plugins: [samePackages(), keepModuleUrls(loadEsbuild(), refuseUnsafe)],
  });
  const stamps = inputs.map(stampOf);
  // A file changed while it was read leaves the build unstamped, so that the next process builds again.
  const stampLine = stamps.every((s) => s[2] < started) ? `${STAMP_PREFIX}${JSON.stringify(stamps)}\n` : "\n";
  writeBuiltFile(file, Buffer.concat([Buffer.from(stampLine), contents]));
  return file;
}

function stampOf(file: string): Stamp {
  const st = statSync(file);
  return [file, st.size, st.mtimeMs];
}

function upToDate(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return false;
  }
  const line = text.slice(0, text.indexOf("\n"));
  if (!line.startsWith(STAMP_PREFIX)) return false;
  const stamps: Stamp[] = JSON.parse(line.slice(STAMP_PREFIX.length));
  return stamps.every(([path, size, mtimeMs]) => {
    try {
      const now = stampOf(path);
      return now[1] === size && now[2] === mtimeMs;
    } catch {
      return false;
    }
  });
}

/** Why a user module would not behave the same from the bundle's file; kiln's own sources are known to. */
function refuseUnsafe(file: string, source: string): string | undefined {
  if (file.startsWith(SRC + path.sep)) return undefined;
  if (/\bimport\.meta(?!\.(?:url|dirname|filename)\b)/.test(source)) return `${file} uses import.meta beyond url, dirname and filename`;
  if (/\bimport\s*\(\s*(?!["'])/.test(source)) return `${file} imports a computed specifier`;
  return undefined;
}

/**
 * Keeps a package import only where the bundle's folder finds the same installed package as the
 * importing file does; otherwise the build fails (a user project with packages of its own).
 */
function samePackages(): Plugin {
  return {
    name: "kiln-same-packages",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isBuiltin(args.path) || !args.importer) return undefined;
        const kiln = kilnEntry(args.path, args.importer);
        if (kiln) return { path: kiln };
        const here = installedPackage(args.path, path.dirname(args.importer));
        const there = installedPackage(args.path, BUILT_DIR);
        if (here !== undefined && here === there) return undefined;
        return { errors: [{ text: `${args.importer} imports '${args.path}' from ${here ?? "nowhere"}, the cache folder would find ${there ?? "nothing"}` }] };
      });
    },
  };
}

const KILN_ROOT = path.dirname(SRC);
let kilnManifest: { name: string; exports: Record<string, unknown> } | undefined;

/**
 * The source file an import of kiln itself (`kiln`, `kiln/internal`) names, when this kiln is the one
 * it reaches (installed, or a module of kiln's own checkout referring to its package by name): it is
 * bundled like a local file, since its exports are TypeScript, which a worker cannot import without tsx.
 */
function kilnEntry(specifier: string, importer: string): string | undefined {
  kilnManifest ??= JSON.parse(readFileSync(path.join(KILN_ROOT, "package.json"), "utf8"));
  const { name, exports } = kilnManifest!;
  if (specifier !== name && !specifier.startsWith(`${name}/`)) return undefined;
  const installed = installedPackage(specifier, path.dirname(importer));
  const inOwnCheckout = installed === undefined && importer.startsWith(KILN_ROOT + path.sep) && !importer.includes(`${path.sep}node_modules${path.sep}`);
  if (!inOwnCheckout && installed !== realpathSync(KILN_ROOT)) return undefined;
  const target = exports[`.${specifier.slice(name.length)}`];
  return typeof target === "string" ? path.join(KILN_ROOT, target) : undefined;
}

/** The real folder of the package `specifier` names, as node_modules lookup from `dir` finds it. */
function installedPackage(specifier: string, dir: string): string | undefined {
  const folder = packageFolder(packageNameOf(specifier), dir);
  return folder === undefined ? undefined : realpathSync(folder);
}
