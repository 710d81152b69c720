/**
 * The local-disk backend of the FileSystem interface. Atomic writes go to a unique temporary name
 * in the same folder and are renamed into place; conditional create links a fully written temporary
 * file into place (fails if the name exists); conditional replace checks the generation and renames
 * the new content over the file under a short O_EXCL lock, so two racing writers cannot both win.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { createReadStream, readSync } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  setLocalFileSystem,
  type FileBytes,
  type FileInfo,
  type FileReader,
  type FileStat,
  type FileSystem,
} from "./filesystem.ts";

function toLocal(p: string): string {
  return p.startsWith("file://") ? fileURLToPath(p) : p;
}

/** Writes a new file from one buffer or string, or from pieces in one gathered write. */
async function writeWhole(file: string, data: FileBytes): Promise<void> {
  if (typeof data === "string" || Buffer.isBuffer(data)) return fsp.writeFile(file, data);
  const handle = await fsp.open(file, "w");
  try {
    await handle.writev(data);
  } finally {
    await handle.close();
  }
}

/** Unique temporary sibling name; recognisable so that leftovers of a crash can be cleaned. */
export function tempSibling(p: string): string {
  return `${p}.kiln-tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
}

function generationOf(st: { ino: number | bigint; mtimeMs: number; size: number }): string {
  return `${st.ino}:${st.mtimeMs}:${st.size}`;
}

const LOCK_STALE_MS = 10_000;

/** Takes an O_EXCL lock file, breaking one left behind by a crashed process after 10 s. */
async function acquireLockFile(lock: string): Promise<() => Promise<void>> {
  await fsp.mkdir(path.dirname(lock), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.writeFile(lock, String(process.pid), { flag: "wx" });
      return () => fsp.rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const st = await fsp.stat(lock).catch(() => null);
      if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) await fsp.rm(lock, { force: true });
      await new Promise((r) => setTimeout(r, Math.min(2 + attempt, 20)));
    }
  }
}

/** `length` bytes from `offset` of an open file; shorter only at the end of the file. */
async function readFully(fh: fsp.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Largest range a local file reader reads synchronously. */
const SYNC_READ_BYTES = 4 * 1024 * 1024;

/** `length` bytes from `offset` of an open descriptor, read synchronously; shorter only at the end of the file. */
function preadFully(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

async function isMissing(err: unknown): Promise<boolean> {
  return (err as NodeJS.ErrnoException)?.code === "ENOENT";
}

export class LocalFileSystem implements FileSystem {
  readonly scheme = "file";

  async read(p: string): Promise<Buffer> {
    return fsp.readFile(toLocal(p));
  }

  async readRange(p: string, offset: number, length: number): Promise<Buffer> {
    const fh = await fsp.open(toLocal(p), "r");
    try {
      return await readFully(fh, offset, length);
    } finally {
      await fh.close();
    }
  }

  /**
   * `readRange` of up to SYNC_READ_BYTES is a synchronous pread on the open descriptor: shuffle
   * frames, mostly in the page cache, where the promise and thread-pool round trip of an
   * asynchronous read cost more than the read itself. Larger ranges are read asynchronously.
   */
  async openReader(p: string): Promise<FileReader> {
    const fh = await fsp.open(toLocal(p), "r");
    return {
      size: async () => (await fh.stat()).size,
      read: async (into, position) => (await fh.read(into, 0, into.length, position)).bytesRead,
      readRange: async (offset, length) => (length <= SYNC_READ_BYTES ? preadFully(fh.fd, offset, length) : readFully(fh, offset, length)),
      close: () => fh.close(),
    };
  }

  async writeAtomic(p: string, data: FileBytes): Promise<void> {
    const target = toLocal(p);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempSibling(target);
    try {
      await writeWhole(tmp, data);
      await fsp.rename(tmp, target);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  async createExclusive(p: string, data: Buffer | string): Promise<boolean> {
    const target = toLocal(p);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    // Write the content under a temporary name first, then hard-link it into place: link() fails
    // with EEXIST if the target exists, and readers never see an empty file.
    const tmp = tempSibling(target);
    await fsp.writeFile(tmp, data);
    try {
      await fsp.link(tmp, target);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  async replaceIf(p: string, data: Buffer | string, generation: string): Promise<boolean> {
    // Local files have no compare-and-swap: a short-lived lock file (O_EXCL) serialises the
    // check-then-rename of every conditional replace of the same path. The file itself is replaced
    // by rename, so it never disappears, and a concurrent createExclusive keeps failing.
    const target = toLocal(p);
    const release = await acquireLockFile(`${target}.kiln-lock`);
    try {
      const st = await this.stat(p);
      if (!st || st.generation !== generation) return false;
      await this.writeAtomic(p, data);
      return true;
    } finally {
      await release();
    }
  }

  async exists(p: string): Promise<boolean> {
    try {
      await fsp.access(toLocal(p));
      return true;
    } catch {
      return false;
    }
  }

  async stat(p: string): Promise<FileStat | null> {
    try {
      const st = await fsp.stat(toLocal(p));
      return { size: st.size, generation: generationOf(st), mtimeMs: st.mtimeMs };
    } catch (err) {
      if (await isMissing(err)) return null;
      throw err;
    }
  }

  /**
   * Every file below `prefix`, sorted by path. Symbolic links are followed (a linked file is listed
   * under the link's path, a linked folder is walked), each real folder once, so a link back up
   * the tree ends; a link to nothing is left out, as no file is there.
   */
  async list(prefix: string): Promise<FileInfo[]> {
    const root = toLocal(prefix);
    const out: FileInfo[] = [];
    const walked = new Set<string>();
    const walk = async (dir: string, shown: string): Promise<void> => {
      const real = await fsp.realpath(dir).catch(() => dir);
      if (walked.has(real)) return;
      walked.add(real);
      let entries;
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (await isMissing(err)) return;
        if ((err as NodeJS.ErrnoException).code === "ENOTDIR") {
          const st = await fsp.stat(dir);
          out.push({ path: shown, size: st.size });
          return;
        }
        throw err;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        const display = `${shown.replace(/\/+$/, "")}/${e.name}`;
        if (e.isDirectory()) await walk(full, display);
        else if (e.isFile()) out.push({ path: display, size: (await fsp.stat(full)).size });
        else if (e.isSymbolicLink()) {
          const target = await fsp.stat(full).catch(() => null);
          if (target?.isDirectory()) await walk(full, display);
          else if (target?.isFile()) out.push({ path: display, size: target.size });
        }
      }
    };
    await walk(root, prefix);
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
  }

  async delete(p: string): Promise<void> {
    await fsp.rm(toLocal(p), { force: true });
  }

  async deleteTree(prefix: string): Promise<void> {
    await fsp.rm(toLocal(prefix), { recursive: true, force: true });
  }

  readStream(p: string, range?: { start: number; end: number }): Readable {
    const opts = { highWaterMark: 1 << 20 };
    if (!range) return createReadStream(toLocal(p), opts);
    // An empty range still needs a stream; createReadStream's `end` is inclusive.
    if (range.end <= range.start) return Readable.from([]);
    return createReadStream(toLocal(p), { ...opts, start: range.start, end: range.end - 1 });
  }

  async writeAtomicFromFile(p: string, localFile: string): Promise<void> {
    await this.copy(localFile, p, this);
  }

  async copy(source: string, target: string, targetFs: FileSystem): Promise<void> {
    if (targetFs === this) {
      const dst = toLocal(target);
      await fsp.mkdir(path.dirname(dst), { recursive: true });
      const tmp = tempSibling(dst);
      await fsp.copyFile(toLocal(source), tmp);
      await fsp.rename(tmp, dst);
      return;
    }
    await targetFs.writeAtomic(target, await this.read(source));
  }
}

export const localFileSystem = new LocalFileSystem();
setLocalFileSystem(localFileSystem);
