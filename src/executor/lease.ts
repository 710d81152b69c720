/**
 * Step leases: who is running a step right now. A lease is `.kiln/lease` holding
 * `{owner, host, pid, token, epoch, heartbeatAt, acquiredAt}`, created with a conditional create,
 * refreshed every heartbeat interval by a conditional replace (from the heartbeat thread, see
 * heartbeat.ts), and considered stale after the stale interval (or at once when its holder is a
 * dead process on this host). A stale lease is taken over with a conditional replace on the
 * generation that was seen, so only one contender wins; the winner's epoch is one more than the
 * loser's. The token is unique to one attempt: it is the fencing token a commit checks before it
 * touches the output folder. A holder that finds the lease gone or holding another token has lost it.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { KilnError } from "../errors.ts";
import { GcsFileSystem, type FileSystem, type GcsOptions } from "../io/index.ts";
import { processIsAlive } from "../util/process.ts";
import { watchLease, type LeaseWatch } from "./heartbeat.ts";
import { heartbeatOnce, parseLeaseRecord, readLeaseRecord, type LeaseRecord } from "./lease-record.ts";

export { heartbeatOnce, parseLeaseRecord, readLeaseRecord, type BeatOutcome, type LeaseRecord } from "./lease-record.ts";

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
        ? `lost the lease ${path}: it is now held by ${holder.owner} on ${holder.host} (pid ${holder.pid}, epoch ${holder.epoch})`
        : `lost the lease ${path}: the lease file disappeared`,
      "another run took the step over because this one stopped heartbeating (paused process or a clock far off); nothing of this attempt reached the output folder; rerun to let the owner finish",
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
    holder = parseLeaseRecord(await fs.read(path));
  } catch {
    // Vanished between stat and read: judged below by the file's existence.
  }
  if (!holder) {
    if (!(await fs.stat(path))) return { state: "absent" };
    return now - st.mtimeMs > timing.staleMs
      ? { state: "stale", holder: null, generation: st.generation, reason: "unreadable lease file" }
      : {
          state: "live",
          holder: { owner: "unknown", host: "unknown", pid: 0, token: "", epoch: 0, heartbeatAt: st.mtimeMs, acquiredAt: st.mtimeMs },
          generation: st.generation,
        };
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

/** The GCS client settings the heartbeat thread needs to reach the same endpoint as this thread. */
async function gcsSettingsFor(fs: FileSystem): Promise<GcsOptions | undefined> {
  if (!(fs instanceof GcsFileSystem)) return undefined;
  const storage = await fs.client();
  const maxRetries = storage.retryOptions?.maxRetries;
  return {
    ...(storage.customEndpoint ? { apiEndpoint: storage.apiEndpoint, projectId: storage.projectId } : {}),
    ...(maxRetries !== undefined ? { maxRetries } : {}),
  };
}

export type AcquireResult = { acquired: true; epoch: number; tookOver?: string } | { acquired: false; view: LeaseView };

export class Lease {
  /** This attempt's fencing token. */
  readonly token = randomBytes(8).toString("hex");
  private held: LeaseRecord | undefined;
  private watch: LeaseWatch | undefined;
  private lost: KilnError | undefined;

  constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    readonly owner: string,
    private readonly timing: LeaseTiming,
  ) {}

  private record(epoch: number): LeaseRecord {
    const now = Date.now();
    return { owner: this.owner, host: THIS_HOST, pid: process.pid, token: this.token, epoch, heartbeatAt: now, acquiredAt: now };
  }

  /** The epoch this lease was acquired with (0 before it is acquired). */
  get epoch(): number {
    return this.held?.epoch ?? 0;
  }

  /** One attempt to take the lease: create it, or take over a stale one. */
  async tryAcquire(): Promise<AcquireResult> {
    const fresh = this.record(1);
    if (await this.fs.createExclusive(this.path, JSON.stringify(fresh))) {
      this.held = fresh;
      return { acquired: true, epoch: fresh.epoch };
    }
    const view = await inspectLease(this.fs, this.path, this.timing);
    if (view.state === "stale") {
      const next = this.record((view.holder?.epoch ?? 0) + 1);
      if (await this.fs.replaceIf(this.path, JSON.stringify(next), view.generation)) {
        this.held = next;
        return { acquired: true, epoch: next.epoch, tookOver: view.reason };
      }
    }
    return { acquired: false, view };
  }

  /**
   * Starts heartbeating on the heartbeat thread, whose event loop keeps beating while this one is
   * busy. `onLost` is called once if the lease is found taken or gone, or the heartbeat thread dies.
   */
  async startHeartbeat(onLost: (err: KilnError) => void): Promise<void> {
    if (!this.held) throw new Error(`startHeartbeat before the lease ${this.path} was acquired`);
    const spec = { path: this.path, record: this.held, heartbeatMs: this.timing.heartbeatMs, gcs: await gcsSettingsFor(this.fs) };
    this.watch = watchLease(spec, (event) => {
      if (this.lost) return;
      this.lost = "error" in event ? event.error : new LeaseLostError(this.path, event.holder);
      onLost(this.lost);
    });
  }

  /**
   * Beats from this thread and waits for it, so that a commit starts with a fresh lease (a full
   * stale interval before anyone may take it over); throws if the lease is lost. The heartbeat
   * thread may beat at the same time: both write this attempt's token, and each retries a replace
   * that the other's write overtook.
   */
  async renew(): Promise<void> {
    if (this.lost) throw this.lost;
    if (!this.held) throw new LeaseLostError(this.path, null);
    const outcome = await heartbeatOnce(this.fs, this.path, this.held);
    if (!outcome.held) this.lost ??= new LeaseLostError(this.path, outcome.holder);
    if (this.lost) throw this.lost;
  }

  /** Reads the lease and throws LeaseLostError unless it still holds this attempt's token. */
  async verify(): Promise<void> {
    if (this.lost) throw this.lost;
    const holder = await readLeaseRecord(this.fs, this.path);
    if (!holder || holder.token !== this.token) {
      this.lost = new LeaseLostError(this.path, holder);
      throw this.lost;
    }
  }

  /** Stops heartbeating; resolves once no heartbeat is in flight any more. */
  async stopHeartbeat(): Promise<void> {
    const watch = this.watch;
    this.watch = undefined;
    await watch?.stop();
  }

  get lostError(): KilnError | undefined {
    return this.lost;
  }

  /** Stops heartbeating and removes the lease if it is still ours. */
  async release(): Promise<void> {
    await this.stopHeartbeat().catch(() => undefined);
    if (this.lost || !this.held) return;
    try {
      const holder = await readLeaseRecord(this.fs, this.path);
      if (holder?.token === this.token) await this.fs.delete(this.path);
    } catch {
      // Unreachable storage: the lease goes stale on its own.
    }
  }
}
