/**
 * Retry policy for downloads: which failures are worth another attempt (HTTP 5xx and 429,
 * connection resets, refused or timed-out connections, a body cut short) and how long to wait
 * between attempts (exponential backoff from `initialDelayMs`, doubled each time, capped at
 * `maxDelayMs`, with up to 25% random spread so that parallel downloads do not retry in lockstep).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { HttpStatusError } from "./errors.ts";

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, initialDelayMs: 500, maxDelayMs: 30_000 };

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
  "KILN_BODY_INCOMPLETE",
  "KILN_IDLE_TIMEOUT",
]);

/** A body that ended before the length the server announced. */
export class IncompleteBodyError extends Error {
  readonly code = "KILN_BODY_INCOMPLETE";
}

/** True when another attempt may succeed. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof HttpStatusError) return err.retryable;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : "";
  return message === "aborted" || /socket hang up/i.test(message);
}

/** Delay before attempt `attempt` (1 = first retry). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/** Waits out the backoff for `attempt`, or throws if `signal` aborts first. */
export async function waitBeforeRetry(policy: RetryPolicy, attempt: number, signal?: AbortSignal): Promise<void> {
  await sleep(backoffDelay(policy, attempt), undefined, { signal });
}
