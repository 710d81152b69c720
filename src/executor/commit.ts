/**
 * Commits an attempt's staged output into the step's output folder, fenced by the lease: the
 * fencing token is checked before the output folder is cleared and again during the moves (before
 * each object on object stores; locally whenever 20 ms have passed since the last check, so always
 * after a pause of the process), so an attempt that lost its lease stops before it touches the
 * folder, or at its next move. Local folders move whole top-level entries: files by link + unlink,
 * folders by rename, neither of which replaces an entry already there, so a commit that meets
 * another attempt's entry stops instead of overwriting it. Object stores copy then delete each
 * object. The markers (`.kiln/`) are the caller's: it writes info.json and, after one more check,
 * SUCCESS.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { KilnError } from "../errors.ts";
import { joinPath, schemeOf, type FileSystem } from "../io/index.ts";
import { MARKER_DIR } from "./markers.ts";
import { COMMIT_MARKER, entriesOf, errnoCode } from "./staging.ts";

/** The check that this attempt still holds the step's lease; throws LeaseLostError when not. */
export interface Fence {
  verify(): Promise<void>;
}

export class ReservedOutputError extends KilnError {
  constructor(step: string, staging: string) {
    super(
      "KILN_RESERVED_OUTPUT",
      `step '${step}' wrote '${MARKER_DIR}' at the top of its output (${joinPath(staging, MARKER_DIR)}); that folder holds kiln's markers`,
      `write the step's files under another name than ${MARKER_DIR}/`,
    );
  }
}

export class CommitCollisionError extends KilnError {
  constructor(target: string) {
    super(
      "KILN_COMMIT_COLLISION",
      `cannot commit into ${target}: it already exists, though the output folder was cleared for this commit`,
      "another process wrote into the output folder during the commit; rerun the step (with --force if it shows SUCCESS)",
    );
  }
}

const isTemporary = (p: string): boolean => p.includes(".kiln-tmp-");
const toLocal = (p: string): string => (p.startsWith("file://") ? fileURLToPath(p) : p);

export interface CommitOptions {
  fs: FileSystem;
  step: string;
  staging: string;
  out: string;
  fence: Fence;
  /** Object-store moves in flight at once (default 8). */
  concurrency?: number;
  /** Local moves check the fence again once this many ms have passed since the last check (default 20). */
  recheckMs?: number;
}

/** Moves everything staged into `out` (after clearing all of `out` but its markers). */
export async function commitStaged(opts: CommitOptions): Promise<void> {
  const { fs, staging, out, fence } = opts;
  await dropTemporaries(fs, staging);
  const entries = (await entriesOf(fs, staging)).filter((n) => n !== COMMIT_MARKER && !isTemporary(n));
  if (entries.includes(MARKER_DIR)) throw new ReservedOutputError(opts.step, staging);
  await fence.verify();
  await clearOutput(fs, out);
  if (schemeOf(out) === "file") await moveLocalEntries(toLocal(staging), toLocal(out), fence, opts.recheckMs ?? 20);
  else await moveObjects(fs, staging, out, fence, opts.concurrency ?? 8);
}

/**
 * Local moves check the token again whenever `recheckMs` have passed since the last check: a pause
 * of the process (the way a live owner loses its lease) is always followed by a check, and a step
 * with thousands of top-level files does not pay a lease read per file.
 */
async function moveLocalEntries(staging: string, out: string, fence: Fence, recheckMs: number): Promise<void> {
  let checkedAt = Date.now();
  for (const entry of await fsp.readdir(staging, { withFileTypes: true })) {
    if (entry.name === COMMIT_MARKER || isTemporary(entry.name)) continue;
    if (Date.now() - checkedAt >= recheckMs) {
      await fence.verify();
      checkedAt = Date.now();
    }
    await moveLocalEntry(path.join(staging, entry.name), path.join(out, entry.name), entry.isDirectory(), fence);
  }
}

/** Removes the temporary files writers left in the staging folder (names only: no stat per file). */
async function dropTemporaries(fs: FileSystem, staging: string): Promise<void> {
  if (schemeOf(staging) !== "file") {
    for (const f of await fs.list(staging)) if (isTemporary(f.path)) await fs.delete(f.path);
    return;
  }
  const root = toLocal(staging);
  const names = await fsp.readdir(root, { recursive: true }).catch((err: unknown) => {
    if (errnoCode(err) === "ENOENT") return [];
    throw err;
  });
  for (const name of names) if (isTemporary(path.basename(name))) await fsp.rm(path.join(root, name), { force: true });
}

/** Removes everything in the output folder except its markers. */
async function clearOutput(fs: FileSystem, out: string): Promise<void> {
  if (schemeOf(out) === "file") {
    for (const name of await entriesOf(fs, out)) {
      if (name !== MARKER_DIR) await fsp.rm(toLocal(joinPath(out, name)), { recursive: true, force: true });
    }
    return;
  }
  const markers = joinPath(out, MARKER_DIR) + "/";
  const limit = pLimit(16);
  const doomed = (await fs.list(out)).filter((f) => !f.path.startsWith(markers));
  await Promise.all(doomed.map((f) => limit(() => fs.delete(f.path))));
}

/** Moves one top-level entry without replacing anything at the target. */
async function moveLocalEntry(source: string, target: string, isDirectory: boolean, fence: Fence): Promise<void> {
  try {
    if (isDirectory) {
      await fsp.rename(source, target); // fails with ENOTEMPTY/EEXIST on a non-empty folder
    } else {
      await fsp.link(source, target); // fails with EEXIST when the target exists
      await fsp.unlink(source);
    }
  } catch (err) {
    const code = errnoCode(err);
    if (code === "EEXIST" || code === "ENOTEMPTY") {
      await fence.verify(); // a lost lease explains it best
      throw new CommitCollisionError(target);
    }
    if (code === "EXDEV" || code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP") {
      // Another device, or a file system without hard links: copy without replacing, then remove.
      await fsp.cp(source, target, { recursive: true, errorOnExist: true, force: false });
      await fsp.rm(source, { recursive: true, force: true });
      return;
    }
    throw err;
  }
}

async function moveObjects(fs: FileSystem, staging: string, out: string, fence: Fence, concurrency: number): Promise<void> {
  const base = staging.replace(/\/+$/, "") + "/";
  const marker = base + COMMIT_MARKER;
  const files = (await fs.list(staging)).filter((f) => f.path.startsWith(base) && f.path !== marker && !isTemporary(f.path));
  const limit = pLimit(concurrency);
  let stop = false;
  await Promise.all(
    files.map((f) =>
      limit(async () => {
        if (stop) return;
        try {
          await fence.verify();
          await fs.copy(f.path, joinPath(out, f.path.slice(base.length)), fs);
          await fs.delete(f.path);
        } catch (err) {
          stop = true;
          throw err;
        }
      }),
    ),
  );
}
