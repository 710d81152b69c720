/**
 * apache-arrow for parquet-encode, loaded as one file. The package's ESM build is about 150 modules:
 * importing it costs 0.2 CPU-s in a plain thread and 0.7–0.9 CPU-s in a thread with tsx's loader (each
 * module passes through the loader thread). Built once per install with esbuild into a single file of
 * just the parts kiln uses (io/arrow-parts.ts), it loads in about 0.05. A build or write that fails
 * (a read-only install, no esbuild) falls back to the package itself.
 */
import { createHash } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { builtFile, builtOnce, packageVersion } from "../util/built-files.ts";

export type Arrow = typeof import("./arrow-parts.ts");

const PARTS = fileURLToPath(new URL("./arrow-parts.ts", import.meta.url));
/** Bump when arrow-parts.ts or the build below changes. */
const BUILD_FORMAT = 1;

/** The package itself for the fallback, named at run time so that a bundler leaves it to load on demand. */
const PACKAGE: string = "apache-arrow";

let loading: Promise<Arrow> | undefined;

/** apache-arrow's parts, from the single-file build when there is one. */
export function loadArrow(): Promise<Arrow> {
  loading ??= arrowFile()
    .then((file): Promise<Arrow> => import(pathToFileURL(file).href))
    .catch((): Promise<Arrow> => import(PACKAGE));
  return loading;
}

async function arrowFile(): Promise<string> {
  const key = createHash("sha256").update(`${BUILD_FORMAT}\n${packageVersion("apache-arrow")}\n${packageVersion("esbuild")}\n`).digest("hex").slice(0, 16);
  return builtOnce(builtFile("arrow", key), { entryPoints: [PARTS] });
}
