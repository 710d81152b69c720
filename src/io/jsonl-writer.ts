/**
 * Writing JSON lines, plain or zstd-compressed (zstd-napi streams), to a temporary file that is
 * committed on close: renamed into place locally, uploaded in one request elsewhere.
 */
import { createWriteStream, mkdirSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as nodePath from "node:path";
import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { CompressStream } from "zstd-napi";
import { StorageError, type FileSystem } from "./filesystem.ts";
import { tempSibling } from "./local.ts";
import { UnwritableRowError, type RecordWriter, type WriteResult } from "./format-types.ts";

function localPathOf(path: string): string {
  return path.startsWith("file://") ? fileURLToPath(path) : path;
}

/**
 * Writes JSON lines (optionally zstd-compressed) to a temporary file, committed on close: renamed
 * into place locally, uploaded in one request elsewhere. Rows are serialised by JSON.stringify, so
 * they follow its rules (NaN and Infinity become null, undefined fields are left out).
 */
export class JsonlWriter implements RecordWriter {
  private readonly tmp: string;
  private readonly file: Writable;
  private readonly head: Writable;
  private readonly local: boolean;
  private rows = 0;
  private failure: unknown;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly fs: FileSystem,
    compressed: boolean,
    level: number,
  ) {
    this.local = fs.scheme === "file";
    this.tmp = this.local
      ? tempSibling(localPathOf(path))
      : nodePath.join(os.tmpdir(), `kiln-write-${process.pid}-${randomBytes(6).toString("hex")}`);
    mkdirSync(nodePath.dirname(this.tmp), { recursive: true });
    this.file = createWriteStream(this.tmp, { flags: "w" });
    this.file.on("error", (err) => (this.failure ??= err));
    if (compressed) {
      const zstd = new CompressStream({ compressionLevel: level });
      zstd.on("error", (err) => (this.failure ??= err));
      zstd.pipe(this.file);
      this.head = zstd;
    } else {
      this.head = this.file;
    }
  }

  private check(): void {
    if (this.failure !== undefined) {
      throw new StorageError(`writing ${this.path} failed: ${(this.failure as Error).message}`, "check free disk space and permissions", {
        cause: this.failure,
      });
    }
    if (this.done) throw new StorageError(`${this.path}: writer already closed`, "open a new writer for more rows");
  }

  async write(rows: unknown[]): Promise<void> {
    this.check();
    const parts: string[] = [];
    for (let i = 0; i < rows.length; i++) {
      const text = JSON.stringify(rows[i]);
      if (text === undefined) {
        throw new UnwritableRowError(this.path, `row ${this.rows + i} (${typeof rows[i]}) has no JSON form`);
      }
      parts.push(text);
    }
    this.rows += rows.length;
    if (parts.length === 0) return;
    parts.push("");
    if (!this.head.write(Buffer.from(parts.join("\n")))) {
      await new Promise<void>((resolve) => {
        const settle = () => {
          this.head.off("drain", settle);
          this.file.off("error", settle);
          resolve();
        };
        this.head.on("drain", settle);
        this.file.on("error", settle);
      });
    }
    this.check();
  }

  async close(): Promise<WriteResult> {
    this.check();
    this.done = true;
    await new Promise<void>((resolve) => {
      this.file.on("close", resolve);
      this.head.end();
    });
    try {
      if (this.failure !== undefined) {
        this.done = false;
        this.check();
      }
      const { size } = await fsp.stat(this.tmp);
      if (this.local) {
        await fsp.rename(this.tmp, localPathOf(this.path));
      } else if (this.fs.writeAtomicFromFile) {
        await this.fs.writeAtomicFromFile(this.path, this.tmp);
      } else {
        await this.fs.writeAtomic(this.path, await fsp.readFile(this.tmp));
      }
      return { path: this.path, rows: this.rows, bytes: size };
    } finally {
      await fsp.rm(this.tmp, { force: true });
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    const closed = new Promise<void>((resolve) => (this.file.closed ? resolve() : this.file.once("close", resolve)));
    this.head.destroy();
    this.file.destroy();
    await closed;
    await fsp.rm(this.tmp, { force: true });
  }
}
