/**
 * Reject sinks for the bad-record policies: `RejectCounter` counts rejected lines by reason code
 * and keeps nothing (skip); `QuarantineSink` also keeps them (quarantine): each rejected line
 * becomes one JSON line `{file, line, byteOffset, reason, message, raw, rawBytes}` in a .jsonl or
 * .jsonl.zst file that appears atomically on close (nothing is visible before). The quarantine file
 * is written even when nothing was rejected, so its presence says the read finished; an aborted
 * read leaves nothing behind.
 */
import { fileSystemFor, StorageError, type FileSystem } from "./filesystem.ts";
import { FormatError, REJECT_REASONS, type RejectedLine, type RejectReason, type RejectSink, type WriteResult } from "./format-types.ts";
import { formatOf } from "./inputs.ts";
import { JsonlWriter } from "./jsonl-writer.ts";

/** One line of a quarantine file: a RejectedLine whose `path` is called `file`. */
export type QuarantinedLine = Omit<RejectedLine, "path"> & { file: string };

export interface QuarantineResult extends WriteResult {
  /** Lines per reason code (every code present, zero when none). */
  byReason: Record<RejectReason, number>;
}

function zeroCounts(): Record<RejectReason, number> {
  return { "malformed-json": 0, "truncated-line": 0, "line-too-long": 0, "not-an-object": 0, "reserved-field": 0 };
}

/** Counts rejected lines by reason code and keeps nothing. */
export class RejectCounter implements RejectSink {
  private readonly counts = zeroCounts();

  reject(rejected: RejectedLine): void {
    this.counts[rejected.reason]++;
  }

  /** Lines rejected so far, per reason code (every code present). */
  byReason(): Record<RejectReason, number> {
    return { ...this.counts };
  }

  /** Lines rejected so far. */
  get total(): number {
    return REJECT_REASONS.reduce((sum, r) => sum + this.counts[r], 0);
  }
}

/** Counts rejected lines and keeps them in a file committed on close. */
export class QuarantineSink extends RejectCounter {
  private readonly writer: JsonlWriter;
  private done = false;

  /** `path` ends in .jsonl or .jsonl.zst (zstd level 3). */
  constructor(
    readonly path: string,
    opts: { fs?: FileSystem } = {},
  ) {
    super();
    const format = formatOf(path);
    if (format !== "jsonl" && format !== "jsonl.zst") {
      throw new FormatError("KILN_UNKNOWN_FORMAT", `cannot write a quarantine file as ${format} (${path})`, "name the quarantine file .jsonl or .jsonl.zst");
    }
    this.writer = new JsonlWriter(path, opts.fs ?? fileSystemFor(path), format === "jsonl.zst", 3);
  }

  override async reject(rejected: RejectedLine): Promise<void> {
    if (this.done) throw new StorageError(`${this.path}: quarantine already closed`, "open a new quarantine sink for another read");
    super.reject(rejected);
    const line: QuarantinedLine = {
      file: rejected.path,
      line: rejected.line,
      byteOffset: rejected.byteOffset,
      reason: rejected.reason,
      message: rejected.message,
      raw: rejected.raw,
      rawBytes: rejected.rawBytes,
    };
    await this.writer.write([line]);
  }

  /** Commits the file atomically and returns its size with the counts. */
  async close(): Promise<QuarantineResult> {
    this.done = true;
    const result = await this.writer.close();
    return { ...result, byReason: this.byReason() };
  }

  /** Drops what was written; no file appears. */
  async abort(): Promise<void> {
    this.done = true;
    await this.writer.abort();
  }
}
