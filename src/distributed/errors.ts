/**
 * Errors of distributed execution. The driver's: a bad `--redis` URL or queue name, Redis out of
 * reach for too long, a task or step whose workers kept dying. A worker's refusals travel back as
 * task results (serialized, then rebuilt with the same code): different kiln or pipeline code, or a
 * prefix the worker cannot see. None of them is retryable: retrying the same work on the same
 * workers would meet the same cause.
 */
import { KilnError } from "../errors.ts";

export class RedisUrlError extends KilnError {
  constructor(message: string) {
    super("KILN_REDIS_URL", message, "give redis://host:port (rediss:// for TLS), e.g. --redis redis://127.0.0.1:6379, and a queue name of letters, digits, '.', '_' or '-'");
  }
}

export class RedisUnavailableError extends KilnError {
  constructor(url: string, seconds: number, cause: string) {
    super(
      "KILN_REDIS_UNAVAILABLE",
      `Redis at ${url} has been unreachable for ${seconds} s (${cause}); stopped waiting for the workers`,
      "start redis-server again (or fix the network) and rerun: finished steps are kept and the rerun resumes from their markers",
    );
  }
}

export class WorkersKeptDyingError extends KilnError {
  /** `reason`: the worker's count of losses and the last one, see `lossReason`. */
  constructor(what: string, reason: string) {
    super(
      "KILN_WORKERS_KEPT_DYING",
      `${what}: workers kept dying: ${reason}`,
      "read the workers' logs (killed? out of memory? a native crash?); the budget is `kiln run --max-worker-losses N`",
    );
  }
}

/** Why a job ran out of its budget of worker losses, as the worker that refuses to start it again says it. */
export function lossReason(losses: number, last: string): string {
  return `the worker running it died, stalled or was lost ${losses} time${losses === 1 ? "" : "s"} (last: ${last})`;
}

/** A worker runs different kiln or pipeline code than the driver. */
export class CodeMismatchError extends KilnError {
  constructor(worker: string, what: string) {
    super(
      "KILN_WORKER_CODE_MISMATCH",
      `worker ${worker} refused the job: ${what}`,
      "deploy the same kiln and pipeline code (same paths, same commit) on the driver and every worker, then restart the workers",
    );
  }
}

/** A worker cannot read the driver's prefix. */
export class PrefixUnreachableError extends KilnError {
  constructor(worker: string, prefix: string, why: string) {
    super(
      "KILN_WORKER_PREFIX_UNREACHABLE",
      `worker ${worker} cannot see the driver's prefix ${prefix}: ${why}`,
      "use a prefix every worker reaches (gs://bucket/path, or a shared file system mounted at the same path on every machine)",
    );
  }
}
