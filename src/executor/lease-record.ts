/**
 * The lease record, the data both the step's thread and the heartbeat thread read and write:
 * `{owner, host, pid, token, epoch, heartbeatAt, acquiredAt}` as JSON, its parsing (tolerant of fields
 * older versions did not write), and one heartbeat (a conditional replace that keeps the token).
 */
import { isNotFound, type FileSystem } from "../io/index.ts";

export interface LeaseRecord {
  owner: string;
  host: string;
  pid: number;
  /** Unique to one attempt of the step; the fencing token its commit checks. */
  token: string;
  /** 1 for a lease created fresh, the previous holder's epoch + 1 for a take-over. */
  epoch: number;
  heartbeatAt: number;
  acquiredAt: number;
}

const text = (v: unknown, fallback: string): string => (typeof v === "string" ? v : fallback);
const num = (v: unknown, fallback: number): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

/** Parses a lease file; null when it is not a lease record. Fields older kiln versions did not write get neutral values. */
export function parseLeaseRecord(data: Buffer | string): LeaseRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString());
  } catch {
    return null;
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const r: Record<string, unknown> = { ...raw };
  if (typeof r.heartbeatAt !== "number" || typeof r.owner !== "string") return null;
  return {
    owner: r.owner,
    host: text(r.host, "unknown"),
    pid: num(r.pid, 0),
    token: text(r.token, ""),
    epoch: num(r.epoch, 0),
    heartbeatAt: r.heartbeatAt,
    acquiredAt: num(r.acquiredAt, r.heartbeatAt),
  };
}

/** The lease's current record; null when there is no lease file or it cannot be parsed. */
export async function readLeaseRecord(fs: FileSystem, path: string): Promise<LeaseRecord | null> {
  try {
    return parseLeaseRecord(await fs.read(path));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export type BeatOutcome = { held: true } | { held: false; holder: LeaseRecord | null };

/**
 * One heartbeat: rewrites the lease with a fresh `heartbeatAt` if it still holds `mine.token`.
 * Storage errors are thrown (the caller decides whether they are transient).
 */
export async function heartbeatOnce(fs: FileSystem, path: string, mine: LeaseRecord): Promise<BeatOutcome> {
  for (let tries = 0; tries < 5; tries++) {
    const st = await fs.stat(path);
    const holder = st ? await readLeaseRecord(fs, path) : null;
    if (!st || !holder || holder.token !== mine.token) return { held: false, holder };
    const fresh: LeaseRecord = { ...mine, heartbeatAt: Date.now() };
    if (await fs.replaceIf(path, JSON.stringify(fresh), st.generation)) return { held: true };
    // The generation moved between stat and replace: look again.
  }
  const holder = await readLeaseRecord(fs, path);
  return holder?.token === mine.token ? { held: true } : { held: false, holder };
}

