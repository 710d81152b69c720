/**
 * Code fingerprints, so that a worker running other code than the driver refuses a job instead of
 * producing other rows. kiln's fingerprint is a hash of every source file under src/ (paths and
 * contents) and the package version; a module's fingerprint is a hash of its file. A task job
 * carries kiln's fingerprint and those of the module files its plan fragment references
 * (`fn(import.meta.url, ...)`); a step job carries kiln's, the pipeline file's and the step's `run`
 * source's. Modules those files import are not hashed: they are covered only through kiln's own
 * tree or the same deployment.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export interface CodeFingerprint {
  /** Hash of kiln's src/ tree and version. */
  kiln: string;
  /** Hash of each referenced module file, by module URL. */
  modules: Record<string, string>;
}

const SRC = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
let kilnHash: string | undefined;

/** Hash of kiln's own source tree (computed once per process). */
export function kilnFingerprint(): string {
  if (kilnHash) return kilnHash;
  const hash = createHash("sha256");
  hash.update(readFileSync(path.join(SRC, "..", "package.json")));
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|mjs|js|json)$/.test(e.name))
    .map((e) => path.relative(SRC, path.join(e.parentPath, e.name)))
    .sort();
  for (const f of files) hash.update(`${f}\0`).update(readFileSync(path.join(SRC, f))).update("\0");
  kilnHash = hash.digest("hex").slice(0, 16);
  return kilnHash;
}

const fileHashes = new Map<string, { stamp: string; hash: string }>();

/** Hash of a module file (`file:` URL), re-read only when its size or mtime changed; other URLs hash to themselves. */
export function moduleFingerprint(url: string): string {
  if (!url.startsWith("file:")) return `url:${url}`;
  const file = fileURLToPath(url);
  let st;
  try {
    st = statSync(file);
  } catch {
    return "missing";
  }
  const stamp = `${st.size}:${st.mtimeMs}`;
  const known = fileHashes.get(url);
  if (known?.stamp === stamp) return known.hash;
  const hash = createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
  fileHashes.set(url, { stamp, hash });
  return hash;
}

/** The fingerprint a submitter sends with a job referencing `modules`. */
export function codeFingerprint(modules: Iterable<string>): CodeFingerprint {
  return { kiln: kilnFingerprint(), modules: Object.fromEntries([...modules].sort().map((m) => [m, moduleFingerprint(m)])) };
}

/** What differs between the submitter's code and this process's, or undefined when nothing does. */
export function codeDifference(expected: CodeFingerprint): string | undefined {
  const kiln = kilnFingerprint();
  if (expected.kiln !== kiln) return `it runs kiln ${kiln}, the driver kiln ${expected.kiln} (different source under ${SRC})`;
  for (const [url, hash] of Object.entries(expected.modules)) {
    const here = moduleFingerprint(url);
    if (here !== hash) return `module ${url} differs here (${here}) from the driver's (${hash})`;
  }
  return undefined;
}
