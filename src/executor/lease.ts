/**
 * Step leases: who is running a step right now. A lease is `.kiln/lease` holding
 * `{owner, host, pid, heartbeatAt}`, created with a conditional create, refreshed every heartbeat
 * interval by a conditional replace, and considered stale after the stale interval (or at once
 * when its holder is a dead process on this host). A stale lease is taken over with a conditional
 * replace on the generation that was seen, so only one contender wins. A holder whose heartbeat
 * finds the lease gone or owned by someone else has lost it; that is fatal for its step.
 */
import { hostname } from "node:os";
import { KilnError } from "../errors.ts";
import type { FileSystem } from "../io/filesystem.ts";
import { processIsAlive } from "../util/process.ts";

export interface LeaseRecord {
  owner: string;
  host: string;
  pid: number;
  heartbeatAt: number;
  acquiredAt: number;
}

export interface LeaseTiming {
  heartbeatMs: number;
  staleMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { heartbeatMs: 30_000, staleMs: 90_000 };

export class LeaseLostError extends KilnError {
  constructor(path: string, holder: LeaseRecord | null) {
    super(
      "KILN_LEASE_LOST",
      holder
        ? `lost the lease ${path}: it is now held by ${holder.owner} on ${holder.host} (pid ${holder.pid})`
        : `lost the lease ${path}: the lease file disappeared`,
      "another run took the step over because this one stopped heartbeating (paused process or a clock far off); rerun to let the owner finish",
    );
  }
}

const THIS_HOST = hostname();


export type LeaseView =
  | { state: "absent" }
  | { state: "live"; holder: LeaseRecord; generation: string }
  | { state: "stale"; holder: LeaseRecord | null; generation: string; reason: string };

/** Reads a lease and judges it live or stale. */
export async function inspectLease(fs: FileSystem, path: string, timing: LeaseTiming, now = Date.now()): Promise<LeaseView> {
  const st = await fs.stat(path);
  if (!st) return { state: "absent" };
  let holder: LeaseRecord | null = null;
  try {
    holder = JSON.parse((await fs.read(path)).toString("utf8")) as LeaseRecord;
  } catch {
    // Unreadable (vanished or corrupt): judge by the file's age alone.
    if (!(await fs.stat(path))) return { state: "absent" };
  }
  if (!holder || typeof holder.heartbeatAt !== "number") {
    return now - st.mtimeMs > timing.staleMs
      ? { state: "stale", holder: null, generation: st.generation, reason: "unreadable lease file" }
      : { state: "live", holder: { owner: "unknown", host: "unknown", pid: 0, heartbeatAt: st.mtimeMs, acquiredAt: st.mtimeMs }, generation: st.generation };
  }
  if (holder.host === THIS_HOST && holder.pid !== process.pid && !processIsAlive(holder.pid)) {
    return { state: "stale", holder, generation: st.generation, reason: `holder pid ${holder.pid} on this host is dead` };
  }
  const age = now - holder.heartbeatAt;
  if (age > timing.staleMs) {
    return { state: "stale", holder, generation: st.generation, reason: `no heartbeat for ${Math.round(age / 1000)} s` };
  }
  return { state: "live", holder, generation: st.generation };
}

export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private lost: LeaseLostError | undefined;
  private beating: Promise<void> | undefined;

  constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    readonly owner: string,
    private readonly timing: LeaseTiming,
  ) {}

  private record(acquiredAt = Date.now()): string {
    const rec: LeaseRecord = { owner: this.owner, host: THIS_HOST, pid: process.pid, heartbeatAt: Date.now(), acquiredAt };
    return JSON.stringify(rec);
  }

  /** One attempt to take the lease: create it, or take over a stale one. */
  async tryAcquire(): Promise<{ acquired: true; tookOver?: string } | { acquired: false; view: LeaseView }> {
    if (await this.fs.createExclusive(this.path, this.record())) return { acquired: true };
    const view = await inspectLease(this.fs, this.path, this.timing);
    if (view.state === "stale") {
      if (await this.fs.replaceIf(this.path, this.record(), view.generation)) {
        return { acquired: true, tookOver: view.reason };
      }
    }
    return { acquired: false, view };
  }

  /** Starts heartbeating; `onLost` is called once if the lease is found taken or gone. */
  startHeartbeat(onLost: (err: LeaseLostError) => void): void {
    const beat = async (): Promise<void> => {
      try {
        const st = await this.fs.stat(this.path);
        const holder = st ? (JSON.parse((await this.fs.read(this.path)).toString("utf8")) as LeaseRecord) : null;
        if (!st || !holder || holder.owner !== this.owner) {
          this.lost = new LeaseLostError(this.path, holder);
        } else if (!(await this.fs.replaceIf(this.path, this.record(holder.acquiredAt), st.generation))) {
          const now = await inspectLease(this.fs, this.path, this.timing);
          if (now.state === "absent" || now.holder?.owner !== this.owner) {
            this.lost = new LeaseLostError(this.path, now.state === "absent" ? null : now.holder);
          }
        }
      } catch {
        // A failed heartbeat (transient storage error) is retried at the next tick; staleness
        // protects the others if it never recovers.
      }
      if (this.lost) {
        this.stopHeartbeat();
        onLost(this.lost);
      }
    };
    this.timer = setInterval(() => {
      if (!this.beating) this.beating = beat().finally(() => (this.beating = undefined));
    }, this.timing.heartbeatMs);
    this.timer.unref();
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get lostError(): LeaseLostError | undefined {
    return this.lost;
  }

  /** Stops heartbeating and removes the lease if it is still ours. */
  async release(): Promise<void> {
    this.stopHeartbeat();
    await this.beating;
    if (this.lost) return;
    try {
      const holder = JSON.parse((await this.fs.read(this.path)).toString("utf8")) as LeaseRecord;
      if (holder.owner === this.owner) await this.fs.delete(this.path);
    } catch {
      // Already gone.
    }
  }
}
