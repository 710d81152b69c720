/**
 * Exchange files between stages (reshard, take, and the aligned files of join sides and iterate
 * rounds). A task of the upstream stage writes one file per downstream partition; each file is a sequence of frames `[u32 little-endian length][msgpack
 * array of rows]`. Files are written under attempt-unique temporary names and committed by rename,
 * so a failed or duplicated attempt never leaves a partial or doubled file. A truncated or corrupt
 * file fails with its path and byte offset instead of yielding fewer rows. Reading holds one frame
 * (at most 2048 rows) at a time. The stage folder may be on an object store (the shared scratch of
 * remote workers): files are then written locally and uploaded whole, and read by byte ranges.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm, mkdir } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Packr } from "msgpackr";
import { fileSystemFor, joinPath, openFileReader, schemeOf, type FileReader } from "../../io/index.ts";
import { TaskError } from "../errors.ts";
import { moveCursor, type Cursor } from "../row/runtime.ts";

export const packr = new Packr({ useRecords: false, moreTypes: false });
const FRAME_ROWS = 2048;

/** `<stage folder>/from-<shard>/part-<partition>.kx`. */
export function exchangeFilePath(stageDir: string, fromShard: number, partition: number): string {
  return joinPath(stageDir, `from-${String(fromShard).padStart(5, "0")}`, `part-${String(partition).padStart(5, "0")}.kx`);
}

export class ExchangeWriter {
  private readonly pending: unknown[][];
  private readonly handles: Array<FileHandle | undefined>;
  private readonly finals: string[];
  private readonly temps: string[];
  /** Whether the stage folder is local (commit by rename) or on an object store (commit by upload). */
  private readonly local: boolean;
  private next: number;
  bytes = 0;

  constructor(
    stageDir: string,
    private readonly shard: number,
    private readonly partitions: number,
    private readonly partitioning: "round-robin" | "single",
    attemptTag: string,
  ) {
    this.pending = Array.from({ length: partitions }, () => []);
    this.handles = new Array(partitions).fill(undefined);
    this.finals = Array.from({ length: partitions }, (_, p) => exchangeFilePath(stageDir, shard, p));
    this.local = schemeOf(stageDir) === "file";
    const scratch = this.local ? "" : path.join(os.tmpdir(), `kiln-exchange-${process.pid}-${randomBytes(4).toString("hex")}`);
    this.temps = this.finals.map((f, p) => (this.local ? `${f}.${attemptTag}.tmp` : `${scratch}-${p}.tmp`));
    this.next = shard % partitions;
  }

  async add(rows: unknown[]): Promise<void> {
    const n = this.partitions;
    for (const row of rows) {
      const p = this.partitioning === "single" ? 0 : this.next;
      if (this.partitioning !== "single") this.next = (this.next + 1) % n;
      const bucket = this.pending[p];
      bucket.push(row);
      if (bucket.length >= FRAME_ROWS) await this.flush(p);
    }
  }

  private async flush(p: number): Promise<void> {
    const rows = this.pending[p];
    if (rows.length === 0) return;
    this.pending[p] = [];
    const body = packr.pack(rows);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(body.length, 0);
    const handle = await this.handle(p);
    await handle.writev([header, body]);
    this.bytes += body.length + 4;
  }

  private async handle(p: number): Promise<FileHandle> {
    let h = this.handles[p];
    if (!h) {
      await mkdir(path.dirname(this.temps[p]), { recursive: true });
      h = await open(this.temps[p], "w");
      this.handles[p] = h;
    }
    return h;
  }

  /** Flushes, closes and commits every partition file (empty ones included); returns final paths. */
  async commit(): Promise<string[]> {
    for (let p = 0; p < this.partitions; p++) {
      await this.flush(p);
      const h = await this.handle(p);
      await h.close();
      this.handles[p] = undefined;
    }
    for (let p = 0; p < this.partitions; p++) {
      if (this.local) {
        await rename(this.temps[p], this.finals[p]);
        continue;
      }
      const fs = fileSystemFor(this.finals[p]);
      if (fs.writeAtomicFromFile) await fs.writeAtomicFromFile(this.finals[p], this.temps[p]);
      else await fs.writeAtomic(this.finals[p], await readWhole(this.temps[p]));
      await rm(this.temps[p], { force: true });
    }
    return this.finals;
  }

  async abort(): Promise<void> {
    for (let p = 0; p < this.partitions; p++) {
      await this.handles[p]?.close().catch(() => {});
      this.handles[p] = undefined;
      await rm(this.temps[p], { force: true });
    }
  }
}

/** One exchange file opened for reading: positioned reads (local or by byte ranges) and its size when opened. */
interface OpenedFile {
  reader: FileReader;
  size: number;
}

async function openExchangeFile(file: string): Promise<OpenedFile> {
  const reader = await openFileReader(file);
  try {
    return { reader, size: await reader.size() };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

async function readWhole(localFile: string): Promise<Buffer> {
  const handle = await open(localFile, "r");
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Reads exchange files in order as batches, frame by frame, keeping `cursor` on the current file and row. */
export async function* readExchangeFiles(files: string[], cursor: Cursor, onBytes: (n: number) => void): AsyncIterable<unknown[]> {
  for (const file of files) {
    let opened: OpenedFile;
    try {
      opened = await openExchangeFile(file);
    } catch (err) {
      throw new TaskError(`cannot read exchange file ${file}: ${(err as Error).message}`, "the previous stage's output is missing; re-run the execution", { cause: err });
    }
    try {
      const size = opened.size;
      onBytes(size);
      const header = Buffer.alloc(4);
      let offset = 0;
      let row = 1;
      while (offset < size) {
        if (offset + 4 > size) throw corrupt(file, offset, "truncated frame header");
        await readExactly(opened.reader, header, offset);
        const length = header.readUInt32LE(0);
        if (offset + 4 + length > size) throw corrupt(file, offset, `frame of ${length} bytes runs past the end of the file`);
        const body = Buffer.allocUnsafe(length);
        await readExactly(opened.reader, body, offset + 4);
        let rows: unknown;
        try {
          rows = packr.unpack(body);
        } catch (err) {
          throw corrupt(file, offset, (err as Error).message);
        }
        if (!Array.isArray(rows)) throw corrupt(file, offset, "frame is not an array of rows");
        moveCursor(cursor, { source: file, first: row, unit: "row" });
        yield rows;
        row += rows.length;
        offset += 4 + length;
      }
    } finally {
      await opened.reader.close();
    }
  }
}

async function readExactly(file: FileReader, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const bytesRead = await file.read(into.subarray(done), position + done);
    if (bytesRead === 0) throw new TaskError(`unexpected end of an exchange file at byte ${position + done}`, "re-run the execution; the file was damaged after it was written", { retryable: false });
    done += bytesRead;
  }
}

function corrupt(file: string, offset: number, reason: string): TaskError {
  return new TaskError(`exchange file ${file} is corrupt at byte ${offset}: ${reason}`, "re-run the execution; the file was damaged after it was written", { retryable: false });
}
