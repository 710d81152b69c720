/**
 * The errors the download step raises on purpose, each with a stable code and a fix hint: a name
 * that would land outside the output folder, a file over the size limit, an HTTP status that is not
 * worth retrying, a checksum mismatch, and a download that kept failing after its retries.
 */
import { KilnError } from "../../errors.ts";

/** A target name that is absolute, climbs out with `..`, or is otherwise unsafe to write. */
export class UnsafePathError extends KilnError {
  constructor(readonly name: string, reason: string, where: string) {
    super(
      "KILN_UNSAFE_PATH",
      `refusing to write ${JSON.stringify(name)} from ${where}: ${reason}`,
      "give the source a plain relative file name (set 'fileName' for url sources)",
    );
  }
}

export class FileTooLargeError extends KilnError {
  constructor(readonly location: string, readonly limitBytes: number, seenBytes: number, declared: boolean) {
    super(
      "KILN_FILE_TOO_LARGE",
      `${location} is ${declared ? "declared as" : "at least"} ${seenBytes} bytes, over the limit of ${limitBytes} bytes per file; download aborted`,
      "raise maxFileBytes in the download step's options if the file is expected to be this large",
    );
  }
}

export class HttpStatusError extends KilnError {
  constructor(readonly url: string, readonly status: number, private readonly transient: boolean) {
    super(
      "KILN_HTTP_STATUS",
      `GET ${url} answered HTTP ${status}`,
      transient
        ? "the server is failing or overloaded; the download is retried with backoff, or rerun later (it resumes)"
        : "check the URL and any access rights; this status is not retried",
    );
  }

  /** 5xx and 429 may pass later; other statuses will not. */
  override get retryable(): boolean {
    return this.transient;
  }
}

export class ChecksumMismatchError extends KilnError {
  constructor(location: string, expected: string, actual: string) {
    super(
      "KILN_CHECKSUM_MISMATCH",
      `${location} has sha256 ${actual}, expected ${expected}; the partial file was removed`,
      "check that the source has not changed, then update or remove its 'sha256' field",
    );
  }
}

/** A download that failed for good (retries exhausted, or a non-retryable failure). */
export class DownloadError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_DOWNLOAD", message, hint, options);
  }
}
