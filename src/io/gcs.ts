/**
 * The Google Cloud Storage backend of the FileSystem interface, for paths `gs://bucket/key`, built on
 * the official `@google-cloud/storage` client. Single-request uploads are atomic on GCS, so
 * `writeAtomic` is one upload; conditional create and replace are uploads with an
 * `ifGenerationMatch` precondition (0 = "must not exist"), and a 412 answer means "someone else won".
 * The client talks to real GCS by default, or to any endpoint given by `configureGcs({ apiEndpoint })`
 * or the `KILN_GCS_ENDPOINT` environment variable (then without authentication, as emulators expect).
 * Every other failure is a StorageError naming the object. The client library is loaded on first
 * use (it takes ~0.3 s to import), so processes that never touch gs:// do not pay for it.
 */
import { stat as statLocalFile } from "node:fs/promises";
import { PassThrough, Readable } from "node:stream";
import type { File, Storage, StorageOptions } from "@google-cloud/storage";
import pLimit from "p-limit";
import {
  joinedBytes,
  registerFileSystem,
  StorageError,
  type FileBytes,
  type FileInfo,
  type FileStat,
  type FileSystem,
} from "./filesystem.ts";

export interface GcsOptions {
  /** Custom endpoint such as `http://127.0.0.1:4443` (emulators, tests). Default: env KILN_GCS_ENDPOINT, else real GCS. */
  apiEndpoint?: string;
  projectId?: string;
  /** Objects per list page (GCS caps it at 1000). */
  listPageSize?: number;
  /** Uploads of local files larger than this use a resumable upload. Default 16 MiB. */
  resumableThresholdBytes?: number;
  /** Retries of retryable errors (429, 5xx). Default: the client's default. */
  maxRetries?: number;
  /** A ready client, for callers that need their own credentials setup. */
  storage?: Storage;
}

export interface GcsObjectPath {
  bucket: string;
  key: string;
}

/** Splits `gs://bucket/some/key` into bucket and key (the key may be empty for the bucket root). */
export function parseGsPath(path: string): GcsObjectPath {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/i.exec(path);
  if (!m || !m[1]) {
    throw new StorageError(`not a GCS path: '${path}'`, "write GCS paths as gs://bucket/key");
  }
  return { bucket: m[1], key: m[2] };
}

function httpStatusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const v of [e?.code, e?.status, e?.response?.status]) {
    if (typeof v === "number") return v;
    if (typeof v === "string" && /^\d{3}$/.test(v)) return Number(v);
  }
  return undefined;
}

function wrap(err: unknown, op: string, path: string): StorageError {
  if (err instanceof StorageError) return err;
  const status = httpStatusOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (status === 404) {
    return new StorageError(`GCS ${op} of ${path}: object not found`, "check the path and that the object exists", {
      cause: err,
    });
  }
  const hint =
    status === 401 || status === 403
      ? "check the credentials (GOOGLE_APPLICATION_CREDENTIALS) and the bucket permissions"
      : "retry; if it persists check the bucket, network and KILN_GCS_ENDPOINT";
  return new StorageError(`GCS ${op} of ${path} failed${status ? ` (HTTP ${status})` : ""}: ${detail}`, hint, {
    cause: err,
  });
}

async function storageFor(opts: GcsOptions): Promise<Storage> {
  if (opts.storage) return opts.storage;
  const { Storage } = await import("@google-cloud/storage");
  const apiEndpoint = opts.apiEndpoint ?? process.env.KILN_GCS_ENDPOINT;
  const config: StorageOptions = {};
  if (opts.projectId) config.projectId = opts.projectId;
  if (opts.maxRetries !== undefined) config.retryOptions = { maxRetries: opts.maxRetries };
  if (apiEndpoint) {
    // A custom endpoint is used without authentication unless useAuthWithCustomEndpoint is set.
    config.apiEndpoint = apiEndpoint.replace(/\/+$/, "");
    config.projectId ??= "kiln-local";
  }
  return new Storage(config);
}

export class GcsFileSystem implements FileSystem {
  readonly scheme = "gs";
  private readonly opts: GcsOptions;
  private storage: Promise<Storage> | undefined;
  private readonly listPageSize: number;
  private readonly resumableThreshold: number;

  constructor(opts: GcsOptions = {}) {
    this.opts = { ...opts };
    this.listPageSize = Math.min(Math.max(opts.listPageSize ?? 1000, 1), 1000);
    this.resumableThreshold = opts.resumableThresholdBytes ?? 16 << 20;
  }

  /** The official client, created on first use. */
  client(): Promise<Storage> {
    this.storage ??= storageFor(this.opts);
    return this.storage;
  }

  private async file(path: string): Promise<File> {
    const { bucket, key } = parseGsPath(path);
    if (!key) throw new StorageError(`'${path}' names a bucket, not an object`, "add an object key after the bucket");
    return (await this.client()).bucket(bucket).file(key);
  }

  async read(path: string): Promise<Buffer> {
    try {
      const [data] = await (await this.file(path)).download();
      return data;
    } catch (err) {
      throw wrap(err, "read", path);
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    try {
      const [data] = await (await this.file(path)).download({ start: offset, end: offset + length - 1 });
      return data;
    } catch (err) {
      if (httpStatusOf(err) === 416) return Buffer.alloc(0); // range starts at or past the end
      throw wrap(err, "ranged read", path);
    }
  }

  readStream(path: string, range?: { start: number; end: number }): Readable {
    if (range && range.end <= range.start) return Readable.from([]);
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    this.file(path).then(
      (file) => {
        // Whole object: the client checks its crc32c. Ranges cannot be checked.
        const source = range ? file.createReadStream({ start: range.start, end: range.end - 1 }) : file.createReadStream();
        source.on("error", (err) => out.destroy(wrap(err, "streamed read", path)));
        out.on("close", () => source.destroy());
        source.pipe(out);
      },
      (err) => out.destroy(wrap(err, "streamed read", path)),
    );
    return out;
  }

  async writeAtomic(path: string, data: FileBytes): Promise<void> {
    try {
      await (await this.file(path)).save(joinedBytes(data), { resumable: false });
    } catch (err) {
      throw wrap(err, "write", path);
    }
  }

  async writeAtomicFromFile(path: string, localFile: string): Promise<void> {
    const { bucket, key } = parseGsPath(path);
    try {
      const { size } = await statLocalFile(localFile);
      await (await this.client()).bucket(bucket).upload(localFile, { destination: key, resumable: size > this.resumableThreshold });
    } catch (err) {
      throw wrap(err, "upload", path);
    }
  }

  /** Upload with a generation precondition; false when GCS answers 412 (precondition failed). */
  private async saveIfGeneration(path: string, data: Buffer | string, generation: number, op: string): Promise<boolean> {
    try {
      await (await this.file(path)).save(data, { resumable: false, preconditionOpts: { ifGenerationMatch: generation } });
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 412) return false;
      throw wrap(err, op, path);
    }
  }

  createExclusive(path: string, data: Buffer | string): Promise<boolean> {
    return this.saveIfGeneration(path, data, 0, "conditional create");
  }

  async replaceIf(path: string, data: Buffer | string, generation: string): Promise<boolean> {
    const wanted = Number(generation);
    if (!Number.isSafeInteger(wanted) || wanted <= 0) return false; // not a generation this backend handed out
    return this.saveIfGeneration(path, data, wanted, "conditional replace");
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== null;
  }

  async stat(path: string): Promise<FileStat | null> {
    try {
      const [meta] = await (await this.file(path)).getMetadata();
      return {
        size: Number(meta.size ?? 0),
        generation: String(meta.generation),
        mtimeMs: Date.parse(String(meta.updated ?? meta.timeCreated ?? "")) || 0,
      };
    } catch (err) {
      if (httpStatusOf(err) === 404) return null;
      throw wrap(err, "stat", path);
    }
  }

  /**
   * Objects below `prefix` taken as a folder (`gs://b/data` lists `data/...`, not `data2/...`), plus
   * the object named exactly `prefix`, like the local backend. Pages through the listing.
   */
  async list(prefix: string): Promise<FileInfo[]> {
    const { bucket, key } = parseGsPath(prefix);
    const folder = key === "" || key.endsWith("/") ? key : `${key}/`;
    const shownBase = `gs://${bucket}/`;
    const out: FileInfo[] = [];
    try {
      let query: Record<string, unknown> | null = { prefix: key, autoPaginate: false, maxResults: this.listPageSize };
      while (query) {
        const page = await (await this.client()).bucket(bucket).getFiles(query);
        const files: File[] = page[0];
        const next = page[1] as Record<string, unknown> | null | undefined;
        for (const f of files) {
          if (f.name !== key && !f.name.startsWith(folder)) continue;
          out.push({ path: shownBase + f.name, size: Number(f.metadata.size ?? 0) });
        }
        query = next && next.pageToken ? next : null;
      }
    } catch (err) {
      throw wrap(err, "list", prefix);
    }
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
  }

  async delete(path: string): Promise<void> {
    try {
      await (await this.file(path)).delete({ ignoreNotFound: true });
    } catch (err) {
      throw wrap(err, "delete", path);
    }
  }

  async deleteTree(prefix: string): Promise<void> {
    const limit = pLimit(16);
    const files = await this.list(prefix);
    await Promise.all(files.map((f) => limit(() => this.delete(f.path))));
  }

  async copy(source: string, target: string, targetFs: FileSystem): Promise<void> {
    if (targetFs instanceof GcsFileSystem) {
      const { bucket, key } = parseGsPath(target);
      try {
        // Server-side copy (rewrite): no bytes pass through this process.
        const destination = (await targetFs.client()).bucket(bucket).file(key);
        await (await this.file(source)).copy(destination);
      } catch (err) {
        throw wrap(err, `copy to ${target}`, source);
      }
      return;
    }
    await targetFs.writeAtomic(target, await this.read(source));
  }
}

let defaultOptions: GcsOptions = {};
let defaultInstance: GcsFileSystem | undefined;

/**
 * Sets the options of the shared `gs://` backend that `fileSystemFor("gs://...")` returns (for
 * example `{ apiEndpoint: "http://127.0.0.1:4443" }`). Replaces the shared client.
 */
export function configureGcs(opts: GcsOptions): void {
  defaultOptions = { ...opts };
  defaultInstance = undefined;
}

/** The shared `gs://` backend, created on first use from `configureGcs` options or the environment. */
export function gcsFileSystem(): GcsFileSystem {
  defaultInstance ??= new GcsFileSystem(defaultOptions);
  return defaultInstance;
}

registerFileSystem("gs", () => gcsFileSystem());
