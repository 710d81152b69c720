/**
 * Copying one file from any storage backend (a local file, a `gs://` object) to a local file, the
 * same way http downloads work: chunks are appended to `<target>.part` with ranged reads, an
 * interrupted copy resumes from the bytes already there, transient failures are retried with
 * backoff, the size limit is checked before the first byte moves, and the final name appears only
 * once the copy is complete.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { FileSystem } from "../../io/index.ts";
import { DownloadError, FileTooLargeError } from "./errors.ts";
import { sha256OfFile, type DownloadedFile } from "./http.ts";
import { isRetryable, waitBeforeRetry, type RetryPolicy } from "./retry.ts";

const CHUNK_BYTES = 8 * 1024 * 1024;

export interface CopyOptions {
  maxBytes: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  onRetry?: (attempt: number, error: string) => void;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

/** Copies `source` (read through `sourceFs`) to the local file `target`, resuming `target.part`. */
export async function copyToLocal(sourceFs: FileSystem, source: string, target: string, options: CopyOptions): Promise<DownloadedFile> {
  const partFile = `${target}.part`;
  await fsp.mkdir(path.dirname(target), { recursive: true });
  for (let attempts = 1; ; attempts++) {
    try {
      const stat = await sourceFs.stat(source);
      if (!stat) throw new DownloadError(`${source} does not exist`, "check the source's path or url");
      if (stat.size > options.maxBytes) {
        await fsp.rm(partFile, { force: true });
        throw new FileTooLargeError(source, options.maxBytes, stat.size, true);
      }
      let have = await sizeOf(partFile);
      if (have > stat.size) {
        await fsp.rm(partFile, { force: true });
        have = 0;
      }
      const out = await fsp.open(partFile, have > 0 ? "a" : "w");
      try {
        while (have < stat.size) {
          options.signal?.throwIfAborted();
          const chunk = await sourceFs.readRange(source, have, Math.min(CHUNK_BYTES, stat.size - have));
          if (chunk.length === 0) throw new DownloadError(`${source} ended at ${have} of ${stat.size} bytes`, "the source changed while it was copied; run again");
          await out.write(chunk);
          have += chunk.length;
        }
      } finally {
        await out.close();
      }
      const sha256 = await sha256OfFile(partFile);
      await fsp.rename(partFile, target);
      return { bytes: stat.size, sha256, attempts };
    } catch (err) {
      if (options.signal?.aborted || !isRetryable(err) || attempts > options.retry.retries) throw err;
      options.onRetry?.(attempts, err instanceof Error ? err.message : String(err));
      await waitBeforeRetry(options.retry, attempts, options.signal);
    }
  }
}
