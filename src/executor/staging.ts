/**
 * Where one attempt of a step writes before its commit, and its local scratch folder. Staging
 * folders live under `<prefix>/.kiln-staging/<step folder>/`, outside every step's output folder
 * (so globs over an output never see them) and on the same storage (so a local commit is a rename):
 * `<id>/` for an ordinary attempt, `resume/` for a resumable step (it survives a killed or failed
 * attempt, and the next one continues from it). An attempt id `a-<host>-<pid>-<random>` names its
 * owner, so a later run can tell dead attempts' leftovers from those of a process still alive on
 * this host. The scratch folder (`ctx.workDir`) is always on local disk: `<id>.work/` next to the
 * staging folder for local prefixes, `<tmpdir>/kiln-step-<id>/` for object stores; it is removed
 * when the attempt ends, and leftovers of killed processes are swept by the next attempt.
 */
import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { joinPath, schemeOf, type FileSystem } from "../io/index.ts";
import { processIsAlive } from "../util/process.ts";

export const STAGING_ROOT = ".kiln-staging";
export const RESUME_FOLDER = "resume";
/** Written into a resumable staging folder when its commit starts: a later attempt must not resume from a half-moved folder. */
export const COMMIT_MARKER = ".kiln-commit";

const HOST_TAG = os.hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "host";
const ATTEMPT_RE = /^a-(.+)-(\d+)-([0-9a-f]{8})(\.work)?$/;
const WORK_DIR_RE = /^kiln-step-(a-.+)$/;

export function newAttemptId(): string {
  return `a-${HOST_TAG}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** The owner an attempt folder, scratch folder or attempt id names, if it is one. */
function ownerOf(name: string): { host: string; pid: number } | null {
  const m = ATTEMPT_RE.exec(name);
  return m ? { host: m[1], pid: Number(m[2]) } : null;
}

/** True when `name` belongs to another process alive on this host. */
export function attemptIsAlive(name: string): boolean {
  const owner = ownerOf(name);
  return owner !== null && owner.host === HOST_TAG && owner.pid !== process.pid && processIsAlive(owner.pid);
}

export const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

export interface AttemptLayout {
  readonly id: string;
  /** `<prefix>/.kiln-staging`. */
  readonly root: string;
  /** Every staging folder of this step. */
  readonly area: string;
  /** Where `run(ctx)` writes: `ctx.outputPath`. */
  readonly staging: string;
  /** Local scratch folder: `ctx.workDir`. */
  readonly workDir: string;
  readonly resumable: boolean;
}

function toLocalPath(p: string): string {
  return p.startsWith("file://") ? fileURLToPath(p) : p;
}

export function attemptLayout(prefix: string, relPath: string, resumable: boolean, id = newAttemptId()): AttemptLayout {
  const root = joinPath(prefix, STAGING_ROOT);
  const area = joinPath(root, relPath);
  const workDir = schemeOf(prefix) === "file" ? path.join(toLocalPath(area), `${id}.work`) : path.join(os.tmpdir(), `kiln-step-${id}`);
  return { id, root, area, staging: joinPath(area, resumable ? RESUME_FOLDER : id), workDir, resumable };
}

/** Names directly below `folder` (files and folders; on object stores the first path segment below it). */
export async function entriesOf(fs: FileSystem, folder: string): Promise<string[]> {
  if (schemeOf(folder) === "file") {
    try {
      return (await fsp.readdir(toLocalPath(folder))).sort();
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return [];
      throw err;
    }
  }
  const base = folder.replace(/\/+$/, "") + "/";
  const names = new Set<string>();
  for (const f of await fs.list(folder)) if (f.path.startsWith(base)) names.add(f.path.slice(base.length).split("/")[0]);
  return [...names].sort();
}

/**
 * Removes what other attempts left in the step's staging area, once this attempt holds the lease:
 * every attempt folder except those of processes alive on this host, and the resume folder when it
 * is to be discarded (a forced rerun, a step no longer resumable, or an interrupted commit).
 */
export async function removeDeadAttempts(fs: FileSystem, layout: AttemptLayout, discardResume: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await entriesOf(fs, layout.area)) {
    const entry = joinPath(layout.area, name);
    if (name === RESUME_FOLDER) {
      const interrupted = await fs.exists(joinPath(entry, COMMIT_MARKER));
      if (layout.resumable && !discardResume && !interrupted) continue;
    } else if (name === layout.id || name === `${layout.id}.work` || attemptIsAlive(name)) {
      continue;
    }
    await fs.deleteTree(entry);
    removed.push(entry);
  }
  return removed;
}

/** Removes scratch folders under `root` (default the OS temp folder) left by dead processes on this host. */
export async function removeDeadWorkDirs(root = os.tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(root).catch((): string[] => [])) {
    const owner = ownerOf(WORK_DIR_RE.exec(name)?.[1] ?? "");
    // Only this host's dead processes: our own pid's folders may be in use by concurrent steps.
    if (!owner || owner.host !== HOST_TAG || owner.pid === process.pid || processIsAlive(owner.pid)) continue;
    await fsp.rm(path.join(root, name), { recursive: true, force: true });
    removed.push(path.join(root, name));
  }
  return removed;
}

let tmpSweep: Promise<string[]> | undefined;

/** Prepares an attempt that holds the lease: clears dead attempts' leftovers and creates the scratch folder. */
export async function prepareAttempt(fs: FileSystem, layout: AttemptLayout, discardResume: boolean): Promise<string[]> {
  tmpSweep ??= removeDeadWorkDirs().catch(() => []);
  const removed = [...(await removeDeadAttempts(fs, layout, discardResume)), ...(await tmpSweep)];
  await makeFolder(layout.workDir);
  // A local staging folder exists from the start, as the output folder always did.
  if (schemeOf(layout.staging) === "file") await makeFolder(toLocalPath(layout.staging));
  return removed;
}

/** mkdir -p that tolerates a concurrent attempt removing an empty parent meanwhile (see finishAttempt). */
async function makeFolder(dir: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await fsp.mkdir(dir, { recursive: true });
      return;
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" || tries >= 5) throw err;
    }
  }
}

/**
 * Cleans up when an attempt ends: its scratch folder always, its staging folder unless it is to be
 * kept (a resumable step that did not commit), and the staging area's folders once they are empty.
 */
export async function finishAttempt(fs: FileSystem, layout: AttemptLayout, keepStaging: boolean): Promise<void> {
  await fsp.rm(layout.workDir, { recursive: true, force: true });
  if (!keepStaging) await fs.deleteTree(layout.staging);
  if (schemeOf(layout.area) !== "file") return;
  // Remove empty folders from the step's area up to the staging root; a concurrent attempt that
  // needs one again recreates it (every local write creates its parent folders).
  const root = toLocalPath(layout.root);
  for (let dir = toLocalPath(layout.area); dir.length >= root.length; dir = path.dirname(dir)) {
    try {
      await fsp.rmdir(dir);
    } catch {
      return; // not empty (or already gone): so are its parents
    }
  }
}
