/**
 * Finding the installed packages that embedded sources read from: looked up in the `node_modules`
 * folders above this file, as Node would (util/packages.ts).
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { packageFolder } from "../../util/packages.ts";
import { SourceError } from "./registry.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Absolute folder of an installed package; throws naming the package when it is not installed. */
export function packageDir(name: string): string {
  const folder = packageFolder(name, here);
  if (folder !== undefined) return folder;
  throw new SourceError(
    `package '${name}' is not installed (looked in every node_modules above ${here})`,
    `run 'npm ci' in the kiln checkout so that '${name}' is present`,
  );
}
