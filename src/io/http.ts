/**
 * A read-only FileSystem for `http://` and `https://` URLs, so that data files on a web server are
 * read in place: `stat` from a HEAD request (Content-Length; a server that refuses HEAD is asked
 * for byte 0 and answers with Content-Range), ranged reads with `Range: bytes=a-b` (a server that
 * ignores ranges and sends the whole file is refused, since every split would download it all),
 * and streams of the whole file or a range. Content encodings are refused (`Accept-Encoding:
 * identity`) so byte offsets are those of the file. A URL cannot be listed, so globs do not work;
 * writes fail with a StorageError. Not-found is 404 or 410; other failures are StorageErrors naming
 * the URL (retryable, as a server hiccup may pass).
 */
import { Readable } from "node:stream";
import { registerFileSystem, StorageError, type FileInfo, type FileStat, type FileSystem } from "./filesystem.ts";

const HEADERS = { "accept-encoding": "identity" };

function failure(url: string, what: string, cause?: unknown): StorageError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new StorageError(`${what} ${url} failed${detail}`, "check the URL and that the server answers; plain https:// files are read in place with range requests", { cause });
}

async function request(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, headers: { ...HEADERS, ...(init.headers ?? {}) } });
  } catch (err) {
    throw failure(url, what, err);
  }
}

function statusError(url: string, what: string, res: Response): StorageError {
  const err = failure(url, `${what} (HTTP ${res.status})`);
  if (res.status === 404 || res.status === 410) Object.assign(err, { notFound: true });
  return err;
}

function readOnly(url: string): StorageError {
  return new StorageError(`cannot write ${url}: http(s) URLs are read-only`, "write outputs to a local path or gs://");
}

/** The total size from a Content-Range header (`bytes a-b/TOTAL`). */
function totalOf(contentRange: string | null): number | undefined {
  const m = /\/(\d+)\s*$/.exec(contentRange ?? "");
  return m ? Number(m[1]) : undefined;
}

export class HttpFileSystem implements FileSystem {
  readonly scheme = "https";

  async stat(url: string): Promise<FileStat | null> {
    const head = await request(url, { method: "HEAD" }, "HEAD");
    if (head.status === 404 || head.status === 410) return null;
    let size = head.ok ? Number(head.headers.get("content-length") ?? NaN) : NaN;
    let tag = head.headers.get("etag") ?? head.headers.get("last-modified") ?? "";
    if (!Number.isFinite(size)) {
      const probe = await request(url, { headers: { range: "bytes=0-0" } }, "GET");
      await probe.body?.cancel();
      if (probe.status === 404 || probe.status === 410) return null;
      if (probe.status === 416) size = 0;
      else if (probe.status === 206) size = totalOf(probe.headers.get("content-range")) ?? NaN;
      else throw statusError(url, "asking for the size of", probe);
      tag = probe.headers.get("etag") ?? tag;
    }
    if (!Number.isFinite(size)) throw failure(url, "reading the size of (no Content-Length or Content-Range)");
    return { size, generation: `${tag}:${size}`, mtimeMs: Date.parse(head.headers.get("last-modified") ?? "") || 0 };
  }

  async exists(url: string): Promise<boolean> {
    return (await this.stat(url)) !== null;
  }

  async read(url: string): Promise<Buffer> {
    const res = await request(url, {}, "GET");
    if (!res.ok) throw statusError(url, "GET", res);
    return Buffer.from(await res.arrayBuffer());
  }

  async readRange(url: string, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    const res = await request(url, { headers: { range: `bytes=${offset}-${offset + length - 1}` } }, "GET");
    if (res.status === 416) return Buffer.alloc(0);
    if (res.status === 200) {
      await res.body?.cancel();
      throw failure(url, "a ranged read of (the server ignores Range requests)");
    }
    if (res.status !== 206) throw statusError(url, "a ranged read of", res);
    return Buffer.from(await res.arrayBuffer());
  }

  readStream(url: string, range?: { start: number; end: number }): Readable {
    const headers: Record<string, string> = range ? { range: `bytes=${range.start}-${range.end - 1}` } : {};
    return Readable.from(
      (async function* () {
        if (range && range.end <= range.start) return;
        const res = await request(url, { headers }, "GET");
        if (range ? res.status !== 206 : !res.ok) {
          await res.body?.cancel();
          throw res.status === 200 ? failure(url, "a ranged read of (the server ignores Range requests)") : statusError(url, "GET", res);
        }
        if (!res.body) return;
        for await (const chunk of Readable.fromWeb(res.body)) yield chunk;
      })(),
      { objectMode: false },
    );
  }

  /** A URL is listed as itself when it exists: there is no directory listing over http. */
  async list(prefix: string): Promise<FileInfo[]> {
    const st = await this.stat(prefix).catch(() => null);
    if (st) return [{ path: prefix, size: st.size }];
    throw new StorageError(`cannot list ${prefix}: http(s) URLs have no listing, so globs do not work on them`, "give the URL of each file");
  }

  async writeAtomic(url: string): Promise<void> {
    throw readOnly(url);
  }
  async createExclusive(url: string): Promise<boolean> {
    throw readOnly(url);
  }
  async replaceIf(url: string): Promise<boolean> {
    throw readOnly(url);
  }
  async delete(url: string): Promise<void> {
    throw readOnly(url);
  }
  async deleteTree(url: string): Promise<void> {
    throw readOnly(url);
  }
  async copy(source: string, target: string, targetFs: FileSystem): Promise<void> {
    await targetFs.writeAtomic(target, await this.read(source));
  }
}

const http = new HttpFileSystem();
registerFileSystem("https", () => http);
registerFileSystem("http", () => http);
