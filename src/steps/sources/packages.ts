/**
 * Finding the installed packages that embedded sources read from. Packages are looked up in the
 * `node_modules` folders above this file (as Node would), by folder rather than through
 * `require.resolve`, because several data packages do not export their data files.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { SourceError } from "./registry.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Absolute folder of an installed package; throws naming the package when it is not installed. */
export function packageDir(name: string): string {
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new SourceError(
    `package '${name}' is not installed (looked in every node_modules above ${here})`,
    `run 'npm ci' in the kiln checkout so that '${name}' is present`,
  );
}
