/**
 * Fetching one http(s) URL to a local file, robustly. Bytes go to `<target>.part` as they arrive;
 * when an attempt breaks off (connection reset, server error, a body cut short), the next attempt,
 * in this run or the next one, asks for the rest with `Range: bytes=<have>-` and appends on a 206,
 * or starts over when the server ignores the range (200) or rejects it (416). Attempts are retried
 * with exponential backoff per the retry policy. A file over the size limit is aborted as soon as
 * that is known (from its headers or while streaming) and its partial data removed. Only a complete
 * file whose length (and sha256, when given) checks out is renamed to its final name.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { KilnError } from "../../errors.ts";
import { ChecksumMismatchError, DownloadError, FileTooLargeError, HttpStatusError } from "./errors.ts";
import { IncompleteBodyError, isRetryable, waitBeforeRetry, type RetryPolicy } from "./retry.ts";

export interface HttpDownloadOptions {
  maxBytes: number;
  retry: RetryPolicy;
  /** Abort an attempt when no byte arrives for this long. */
  idleTimeoutMs: number;
  /** Expected sha256 (hex) of the complete file. */
  sha256?: string;
  signal?: AbortSignal;
  /** Told about retries and resumptions, for logs and counters. */
  onEvent?: (event: DownloadEvent) => void;
}

export type DownloadEvent =
  | { type: "retry"; url: string; attempt: number; delayMs?: number; error: string }
  | { type: "resume"; url: string; fromByte: number };

export interface DownloadedFile {
  bytes: number;
  sha256: string;
  attempts: number;
}

const MAX_REDIRECTS = 5;

/** sha256 (hex) of a local file, streamed. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

class IdleTimeoutError extends Error {
  readonly code = "KILN_IDLE_TIMEOUT";
}

function get(url: string, headers: Record<string, string>, options: HttpDownloadOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith("https:") ? https : http;
    const req = client.get(url, { headers: { "user-agent": "kiln-download", ...headers }, signal: options.signal }, resolve);
    req.setTimeout(options.idleTimeoutMs, () =>
      req.destroy(new IdleTimeoutError(`no data from ${url} for ${options.idleTimeoutMs} ms`)),
    );
    req.on("error", reject);
  });
}

/** GET with redirects followed; resolves with the first non-redirect response. */
async function getFollowing(url: string, headers: Record<string, string>, options: HttpDownloadOptions): Promise<http.IncomingMessage> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await get(current, headers, options);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && status !== 304 && res.headers.location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new DownloadError(`GET ${url} redirected more than ${MAX_REDIRECTS} times`, "use the final URL directly");
      }
      current = new URL(res.headers.location, current).toString();
      continue;
    }
    return res;
  }
}

/** One attempt: fetches what `partFile` still lacks. Resolves when the file is complete. */
async function attempt(url: string, partFile: string, options: HttpDownloadOptions, allowRange = true): Promise<void> {
  const have = allowRange ? await sizeOf(partFile) : 0;
  const res = await getFollowing(url, have > 0 ? { range: `bytes=${have}-` } : {}, options);
  const status = res.statusCode ?? 0;
  let start = 0;
  let total: number | undefined;
  const length = res.headers["content-length"] !== undefined ? Number(res.headers["content-length"]) : undefined;
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers["content-range"] ?? "");
    if (!m || Number(m[1]) !== have) {
      // A range the server got wrong: throw the partial data away and fetch the whole file.
      res.resume();
      if (!allowRange) {
        throw new DownloadError(`GET ${url} answered 206 with Content-Range '${res.headers["content-range"]}' to a plain GET`, "the server's range support is broken; fetch the file another way");
      }
      await fsp.rm(partFile, { force: true });
      return attempt(url, partFile, options, false);
    }
    start = have;
    total = m[3] !== "*" ? Number(m[3]) : length !== undefined ? have + length : undefined;
    options.onEvent?.({ type: "resume", url, fromByte: have });
  } else if (status === 416 && have > 0) {
    res.resume();
    await fsp.rm(partFile, { force: true });
    return attempt(url, partFile, options, false);
  } else if (status === 200) {
    total = length;
  } else {
    res.resume();
    throw new HttpStatusError(url, status, status >= 500 || status === 429 || status === 408);
  }
  if (total !== undefined && total > options.maxBytes) {
    res.destroy();
    await fsp.rm(partFile, { force: true });
    throw new FileTooLargeError(url, options.maxBytes, total, true);
  }
  // Each chunk is on disk before the next is read, so when the connection breaks every byte that
  // arrived is in the .part file for the next attempt to resume from.
  let written = start;
  const out = await fsp.open(partFile, start > 0 ? "a" : "w");
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      written += chunk.length;
      if (written > options.maxBytes) {
        res.destroy();
        throw new FileTooLargeError(url, options.maxBytes, written, false);
      }
      await out.write(chunk);
    }
  } catch (err) {
    await out.close();
    if (err instanceof FileTooLargeError) await fsp.rm(partFile, { force: true });
    throw err;
  }
  await out.close();
  if (total !== undefined && written !== total) {
    throw new IncompleteBodyError(`GET ${url} ended after ${written} of ${total} bytes`);
  }
}

/**
 * Downloads `url` to the local file `target` (through `target.part`), resuming whatever an earlier
 * attempt left in `target.part`.
 */
export async function downloadHttp(url: string, target: string, options: HttpDownloadOptions): Promise<DownloadedFile> {
  const partFile = `${target}.part`;
  await fsp.mkdir(path.dirname(target), { recursive: true });
  for (let attempts = 1; ; attempts++) {
    try {
      await attempt(url, partFile, options);
      const sha256 = await sha256OfFile(partFile);
      if (options.sha256 && sha256 !== options.sha256.toLowerCase()) {
        await fsp.rm(partFile, { force: true });
        throw new ChecksumMismatchError(url, options.sha256.toLowerCase(), sha256);
      }
      const bytes = await sizeOf(partFile);
      await fsp.rename(partFile, target);
      return { bytes, sha256, attempts };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (options.signal?.aborted || !isRetryable(err) || attempts > options.retry.retries) {
        if (err instanceof KilnError && !isRetryable(err)) throw err;
        if (options.signal?.aborted) throw err;
        const kept = await sizeOf(partFile);
        throw new DownloadError(
          `GET ${url} failed after ${attempts} attempt(s): ${message}`,
          kept > 0
            ? `${kept} bytes are kept in ${partFile}; run the step again to resume from there`
            : "check the URL and the network, then run the step again",
          { cause: err },
        );
      }
      options.onEvent?.({ type: "retry", url, attempt: attempts, error: message });
      await waitBeforeRetry(options.retry, attempts, options.signal);
    }
  }
}
