/**
 * Source code as training text: JavaScript and TypeScript files from a fixed list of installed
 * packages (their shipped source folders, so each module appears once rather than once per build
 * flavour). The walk is sorted and bounded (per file, per package and in total), so the same
 * installed versions always give the same records. Each record carries the package, its version and
 * licence, and the file's path inside the package.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { packageDir } from "./packages.ts";
import type { EmbeddedSourceSpec, JsonValue, SourceRecord } from "./registry.ts";

/** Package and folder pairs read by default, in order. */
export const DEFAULT_CODE_ROOTS: { package: string; dir: string }[] = [
  { package: "p-limit", dir: "." },
  { package: "yocto-queue", dir: "." },
  { package: "commander", dir: "lib" },
  { package: "cli-progress", dir: "lib" },
  { package: "hyparquet", dir: "src" },
  { package: "piscina", dir: "src" },
  { package: "zod", dir: "src" },
  { package: "apache-arrow", dir: "src" },
];

const CODE_FILE = /\.(js|mjs|cjs|ts|mts|cts)$/;
const SKIPPED_FILE = /\.d\.[mc]?ts$|\.min\.js$/;

interface CodeLimits {
  maxFileBytes: number;
  maxPackageBytes: number;
  maxTotalBytes: number;
}

function limitsOf(spec: EmbeddedSourceSpec): CodeLimits {
  const num = (key: string, fallback: number): number => {
    const v = spec.options?.[key];
    return typeof v === "number" && v > 0 ? v : fallback;
  };
  return {
    maxFileBytes: num("maxFileBytes", 128 * 1024),
    maxPackageBytes: num("maxPackageBytes", 1024 * 1024),
    maxTotalBytes: num("maxTotalBytes", 4 * 1024 * 1024),
  };
}

async function listCodeFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name === "node_modules" || e.name.startsWith(".")) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && CODE_FILE.test(e.name) && !SKIPPED_FILE.test(e.name)) out.push(full);
    }
  };
  await walk(root);
  return out;
}

export async function* readSourceCode(spec: EmbeddedSourceSpec): AsyncGenerator<SourceRecord> {
  const limits = limitsOf(spec);
  const roots = (spec.options?.roots as { package: string; dir: string }[] | undefined) ?? DEFAULT_CODE_ROOTS;
  let total = 0;
  for (const root of roots) {
    const pkgDir = packageDir(root.package);
    const manifest = JSON.parse(await fsp.readFile(path.join(pkgDir, "package.json"), "utf8")) as Record<string, JsonValue>;
    let packageBytes = 0;
    for (const file of await listCodeFiles(path.join(pkgDir, root.dir))) {
      const { size } = await fsp.stat(file);
      if (size > limits.maxFileBytes || size === 0) continue;
      if (packageBytes + size > limits.maxPackageBytes) break;
      if (total + size > limits.maxTotalBytes) return;
      packageBytes += size;
      total += size;
      const relative = path.relative(pkgDir, file).split(path.sep).join("/");
      yield {
        text: await fsp.readFile(file, "utf8"),
        source: spec.name,
        source_id: `${root.package}/${relative}`,
        package: root.package,
        package_version: typeof manifest.version === "string" ? manifest.version : null,
        license: typeof manifest.license === "string" ? manifest.license : null,
        path: relative,
        language: /ts$/.test(file) ? "typescript" : "javascript",
      };
    }
  }
}
