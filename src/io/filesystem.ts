/**
 * The storage interface every part of kiln talks to: one set of verbs (read, ranged read, atomic
 * write, list with sizes, exists, delete, conditional create, conditional replace) for local paths
 * and for object stores such as `gs://`. Paths are plain strings; `fileSystemFor(path)` picks the
 * backend by scheme. Backends register themselves here so that this module imports none of them.
 */
import type { Readable } from "node:stream";
import { KilnError } from "../errors.ts";

export interface FileInfo {
  /** Full path, in the same form (scheme and all) as the prefix that was listed. */
  path: string;
  size: number;
}

export interface FileStat {
  size: number;
  /** Opaque token that changes whenever the file is replaced; used by `replaceIf`. */
  generation: string;
  mtimeMs: number;
}

/**
 * What `writeAtomic` writes: one buffer or string, or a file's bytes in pieces, written in order
 * without first being joined into one buffer (a parquet file is encoded in 1 MiB pieces).
 */
export type FileBytes = Buffer | string | readonly Uint8Array[];

/** The bytes as one buffer or string, for backends that take a single body. */
export function joinedBytes(data: FileBytes): Buffer | string {
  return typeof data === "string" || Buffer.isBuffer(data) ? data : Buffer.concat(data);
}

export interface FileSystem {
  readonly scheme: string;
  read(path: string): Promise<Buffer>;
  /** Reads `length` bytes from `offset`; shorter only at end of file. */
  readRange(path: string, offset: number, length: number): Promise<Buffer>;
  /** Writes the whole file so that no reader ever sees a partial one. Creates parent folders. */
  writeAtomic(path: string, data: FileBytes): Promise<void>;
  /** Creates the file only if it does not exist. Returns false when it already existed. */
  createExclusive(path: string, data: Buffer | string): Promise<boolean>;
  /**
   * Replaces the file only if its generation is still `generation` (as returned by `stat`).
   * Returns false when someone else changed or removed it first.
   */
  replaceIf(path: string, data: Buffer | string, generation: string): Promise<boolean>;
  exists(path: string): Promise<boolean>;
  stat(path: string): Promise<FileStat | null>;
  /** Every file below `prefix` (recursively), with sizes, sorted by path. */
  list(prefix: string): Promise<FileInfo[]>;
  /** Removes a file; a missing file is not an error. */
  delete(path: string): Promise<void>;
  /** Removes everything below `prefix`. */
  deleteTree(prefix: string): Promise<void>;
  /** Copies one file, possibly across backends through `target`. */
  copy(source: string, target: string, targetFs: FileSystem): Promise<void>;
  /**
   * Optional: streams the file, or only bytes [range.start, range.end) of it. Readers fall back to
   * `read`/`readRange` on backends without it.
   */
  readStream?(path: string, range?: { start: number; end: number }): Readable;
  /**
   * Optional: publishes the content of the local file `localFile` at `path` atomically, streaming it
   * instead of holding it in memory. Writers fall back to `writeAtomic` on backends without it.
   */
  writeAtomicFromFile?(path: string, localFile: string): Promise<void>;
  /**
   * Optional: opens the file once for many positioned reads. Without it, `openFileReader` serves
   * each read with `readRange`.
   */
  openReader?(path: string): Promise<FileReader>;
}

/** A file opened for many positioned reads (see `openFileReader`); the caller closes it. */
export interface FileReader {
  /** The size of the file that was opened. */
  size(): Promise<number>;
  /** Reads into `into` from `position`; returns the bytes read, 0 at the end of the file (may be fewer than asked). */
  read(into: Buffer, position: number): Promise<number>;
  /** Reads `length` bytes from `offset`; shorter only at the end of the file. */
  readRange(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export class StorageError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_STORAGE", message, hint, options);
  }

  /** Storage hiccups (a dropped connection, a throttled request) may pass on a retry. */
  override get retryable(): boolean {
    return true;
  }
}

/** True for "no such file or object" from any backend (ENOENT, HTTP 404, or such an error as cause). */
export function isNotFound(err: unknown, depth = 0): boolean {
  const e = err as { code?: unknown; cause?: unknown; notFound?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (e.notFound === true || e.code === "ENOENT" || e.code === 404 || e.code === "404") return true;
  return depth < 4 && e.cause !== undefined && isNotFound(e.cause, depth + 1);
}

type Factory = (path: string) => FileSystem;
const backends = new Map<string, Factory>();

/** Registers the backend for a URL scheme such as `gs`. Local paths need no registration. */
export function registerFileSystem(scheme: string, factory: Factory): void {
  backends.set(scheme, factory);
}

let local: FileSystem | undefined;
/** Set by the local backend module when it loads. */
export function setLocalFileSystem(fs: FileSystem): void {
  local = fs;
}

export function schemeOf(path: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(path);
  return m && m[1].toLowerCase() !== "file" ? m[1].toLowerCase() : "file";
}

export function fileSystemFor(path: string): FileSystem {
  const scheme = schemeOf(path);
  if (scheme === "file") {
    if (!local) throw new StorageError("local file system backend not loaded", "import 'kiln/src/io/index.ts'");
    return local;
  }
  const factory = backends.get(scheme);
  if (!factory) {
    throw new StorageError(
      `no storage backend for '${scheme}://' (path ${path})`,
      `use a local path or one of: ${["file", ...backends.keys()].join(", ")}`,
    );
  }
  return factory(path);
}

/**
 * Opens `path` for many positioned reads: one descriptor for the whole sequence where the backend
 * can (local disk: no open and close per read), else one byte-range request per read.
 */
export async function openFileReader(path: string): Promise<FileReader> {
  const fs = fileSystemFor(path);
  if (fs.openReader) return fs.openReader(path);
  return {
    async size() {
      const st = await fs.stat(path);
      if (!st) throw Object.assign(new Error(`${path} does not exist`), { code: "ENOENT" });
      return st.size;
    },
    async read(into, position) {
      const got = await fs.readRange(path, position, into.length);
      got.copy(into);
      return got.length;
    },
    readRange: (offset, length) => fs.readRange(path, offset, length),
    close: async () => {},
  };
}

/** Joins path segments with '/', keeping a URL scheme intact and dropping empty segments. */
export function joinPath(base: string, ...parts: string[]): string {
  let out = base.replace(/\/+$/, "");
  for (const p of parts) {
    const clean = p.replace(/^\/+|\/+$/g, "");
    if (clean) out = `${out}/${clean}`;
  }
  return out;
}
