/**
 * Finding an installed package the way Node's bare-specifier lookup does: the `node_modules/<name>`
 * folder (holding a package.json) nearest above a folder. Used by folder rather than through
 * `require.resolve`, because several data packages do not export their data files and a package
 * may not resolve at all from kiln's own location.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";

/** The folder of package `name` as node_modules lookup from `dir` finds it, or undefined. */
export function packageFolder(name: string, dir: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    const candidate = path.join(at, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(at) === at) return undefined;
  }
}

/** The package name a bare specifier names: `@scope/name` or `name`, without a subpath. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}
