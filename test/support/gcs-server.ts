/**
 * A small in-memory fake of the GCS JSON API on 127.0.0.1, enough for the official
 * `@google-cloud/storage` client as kiln uses it: media, multipart and resumable uploads, downloads
 * (`alt=media`, Range), object metadata, paginated listing, delete, copy/rewrite, and generation
 * preconditions (412 on mismatch). Object metadata carries real crc32c (Castagnoli, base64 of the
 * big-endian value) and md5 hashes, and downloads send `x-goog-hash`, so the client's integrity checks
 * run for real. `corrupt()` flips stored bytes without fixing the hashes, to test those checks.
 */
import * as http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

interface StoredObject {
  bucket: string;
  name: string;
  data: Buffer;
  generation: number;
  contentType: string;
  created: string;
  crc32c: string;
  md5: string;
}

interface ResumableSession {
  bucket: string;
  name: string;
  contentType: string;
  preconditions: URLSearchParams;
  chunks: Buffer[];
  received: number;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The form GCS uses in metadata and `x-goog-hash`: base64 of the 4 big-endian bytes. */
export function crc32cBase64(data: Uint8Array): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32c(data));
  return b.toString("base64");
}

export interface FakeGcsServer {
  /** Base URL to give the client as `apiEndpoint`. */
  endpoint: string;
  /** Every request seen, as "METHOD path?query", for tests that check what the client sent. */
  requests: string[];
  getObject(bucket: string, name: string): Buffer | undefined;
  /** Flips one byte of the stored data while keeping the old hashes. */
  corrupt(bucket: string, name: string): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

/** Splits a multipart/related body into its parts' bodies (headers dropped). */
function multipartBodies(body: Buffer, contentType: string): Buffer[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new HttpError(400, "multipart upload without a boundary", "invalid");
  const delimiter = Buffer.from(`--${m[1]}`);
  const out: Buffer[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const partStart = pos + delimiter.length;
    if (body.subarray(partStart, partStart + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, partStart);
    if (next < 0) break;
    const part = body.subarray(partStart, next);
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd < 0) throw new HttpError(400, "multipart part without headers", "invalid");
    let content = part.subarray(headerEnd + 4);
    if (content.subarray(-2).toString() === "\r\n") content = content.subarray(0, -2);
    out.push(content);
    pos = next;
  }
  return out;
}

export async function startFakeGcsServer(): Promise<FakeGcsServer> {
  const objects = new Map<string, StoredObject>();
  const sessions = new Map<string, ResumableSession>();
  const requests: string[] = [];
  let lastGeneration = Date.now() * 1000;
  const keyOf = (bucket: string, name: string) => `${bucket}\u0000${name}`;
  let endpoint = "";

  const metadataOf = (o: StoredObject) => ({
    kind: "storage#object",
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${endpoint}/storage/v1/b/${o.bucket}/o/${encodeURIComponent(o.name)}`,
    mediaLink: `${endpoint}/download/storage/v1/b/${o.bucket}/o/${encodeURIComponent(o.name)}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: "1",
    contentType: o.contentType,
    storageClass: "STANDARD",
    size: String(o.data.length),
    md5Hash: o.md5,
    crc32c: o.crc32c,
    etag: `e${o.generation}`,
    timeCreated: o.created,
    updated: o.created,
  });

  /** GCS precondition semantics: ifGenerationMatch=0 means "must not exist". */
  const checkPreconditions = (bucket: string, name: string, q: URLSearchParams) => {
    const current = objects.get(keyOf(bucket, name));
    const match = q.get("ifGenerationMatch");
    if (match !== null) {
      const ok = match === "0" ? !current : current !== undefined && String(current.generation) === match;
      if (!ok) throw new HttpError(412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet");
    }
    const notMatch = q.get("ifGenerationNotMatch");
    if (notMatch !== null && current && String(current.generation) === notMatch) {
      throw new HttpError(304, "Not modified", "notModified");
    }
  };

  const store = (bucket: string, name: string, data: Buffer, contentType: string): StoredObject => {
    const o: StoredObject = {
      bucket,
      name,
      data,
      generation: ++lastGeneration,
      contentType: contentType || "application/octet-stream",
      created: new Date().toISOString(),
      crc32c: crc32cBase64(data),
      md5: createHash("md5").update(data).digest("base64"),
    };
    objects.set(keyOf(bucket, name), o);
    return o;
  };

  const mustGet = (bucket: string, name: string): StoredObject => {
    const o = objects.get(keyOf(bucket, name));
    if (!o) throw new HttpError(404, `No such object: ${bucket}/${name}`, "notFound");
    return o;
  };

  const sendJson = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };

  const handleUpload = async (req: http.IncomingMessage, res: http.ServerResponse, bucket: string, q: URLSearchParams) => {
    const uploadType = q.get("uploadType");
    if (req.method === "POST" && (uploadType === "media" || uploadType === "multipart")) {
      const body = await readBody(req);
      let meta: { name?: string; contentType?: string } = {};
      let data = body;
      if (uploadType === "multipart") {
        const [metaPart, dataPart] = multipartBodies(body, String(req.headers["content-type"] ?? ""));
        meta = metaPart?.length ? JSON.parse(metaPart.toString("utf8")) : {};
        data = dataPart ?? Buffer.alloc(0);
      }
      const name = q.get("name") ?? meta.name;
      if (!name) throw new HttpError(400, "upload without an object name", "required");
      checkPreconditions(bucket, name, q);
      return sendJson(res, 200, metadataOf(store(bucket, name, Buffer.from(data), meta.contentType ?? "")));
    }
    if (req.method === "POST" && uploadType === "resumable") {
      const body = await readBody(req);
      const meta = body.length ? JSON.parse(body.toString("utf8")) : {};
      const name = q.get("name") ?? meta.name;
      if (!name) throw new HttpError(400, "upload without an object name", "required");
      checkPreconditions(bucket, name, q);
      const id = randomBytes(8).toString("hex");
      sessions.set(id, { bucket, name, contentType: meta.contentType ?? "", preconditions: q, chunks: [], received: 0 });
      res.writeHead(200, { location: `${endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}`, "content-length": 0 });
      return res.end();
    }
    if (req.method === "PUT" && q.get("upload_id")) {
      const session = sessions.get(q.get("upload_id")!);
      if (!session) throw new HttpError(404, "no such upload session", "notFound");
      const body = await readBody(req);
      // Content-Range: "bytes a-b/total", "bytes a-b/*", "bytes */total" or "bytes a-*/total".
      const range = /^bytes (\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(String(req.headers["content-range"] ?? `bytes */${body.length}`));
      if (!range) throw new HttpError(400, `bad Content-Range '${req.headers["content-range"]}'`, "invalid");
      const first = range[2] !== undefined ? Number(range[2]) : session.received;
      if (body.length > 0) {
        if (first > session.received) throw new HttpError(400, "upload chunk leaves a gap", "invalid");
        const fresh = body.subarray(session.received - first);
        session.chunks.push(Buffer.from(fresh));
        session.received += fresh.length;
      }
      // "a-*" means this request carries the rest of the object: its end finalises the upload.
      const total = range[3] === "*" ? session.received : range[4] === "*" ? undefined : Number(range[4]);
      if (total !== undefined && session.received >= total) {
        sessions.delete(q.get("upload_id")!);
        checkPreconditions(session.bucket, session.name, session.preconditions);
        const o = store(session.bucket, session.name, Buffer.concat(session.chunks), session.contentType);
        return sendJson(res, 200, metadataOf(o));
      }
      const headers: http.OutgoingHttpHeaders = { "content-length": 0 };
      if (session.received > 0) headers.range = `bytes=0-${session.received - 1}`;
      res.writeHead(308, headers);
      return res.end();
    }
    throw new HttpError(400, `unsupported upload ${req.method} uploadType=${uploadType}`, "invalid");
  };

  const handleDownload = (req: http.IncomingMessage, res: http.ServerResponse, o: StoredObject) => {
    const headers: http.OutgoingHttpHeaders = {
      "content-type": o.contentType,
      "x-goog-hash": `crc32c=${o.crc32c},md5=${o.md5}`,
      "x-goog-stored-content-encoding": "identity",
      "x-goog-generation": String(o.generation),
    };
    const rangeHeader = req.headers.range;
    if (!rangeHeader) {
      res.writeHead(200, { ...headers, "content-length": o.data.length });
      return res.end(o.data);
    }
    const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader);
    if (!m) throw new HttpError(400, `bad Range '${rangeHeader}'`, "invalid");
    const size = o.data.length;
    let start: number;
    let end: number;
    if (m[1] === "") {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || start > end) {
      res.writeHead(416, { "content-range": `bytes */${size}`, "content-length": 0 });
      return res.end();
    }
    const slice = o.data.subarray(start, end + 1);
    res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${size}`, "content-length": slice.length });
    res.end(slice);
  };

  const handleList = (res: http.ServerResponse, bucket: string, q: URLSearchParams) => {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter");
    const maxResults = Math.min(Number(q.get("maxResults") ?? 1000) || 1000, 1000);
    const after = q.get("pageToken") ? Buffer.from(q.get("pageToken")!, "base64url").toString("utf8") : null;
    const names = [...objects.values()]
      .filter((o) => o.bucket === bucket && o.name.startsWith(prefix))
      .map((o) => o.name)
      .sort();
    const items: StoredObject[] = [];
    const prefixes = new Set<string>();
    let nextPageToken: string | undefined;
    for (const name of names) {
      if (after !== null && name <= after) continue;
      if (delimiter) {
        const cut = name.indexOf(delimiter, prefix.length);
        if (cut >= 0) {
          prefixes.add(name.slice(0, cut + delimiter.length));
          continue;
        }
      }
      if (items.length === maxResults) {
        nextPageToken = Buffer.from(items[items.length - 1].name).toString("base64url");
        break;
      }
      items.push(objects.get(keyOf(bucket, name))!);
    }
    sendJson(res, 200, {
      kind: "storage#objects",
      items: items.map(metadataOf),
      ...(prefixes.size ? { prefixes: [...prefixes] } : {}),
      ...(nextPageToken ? { nextPageToken } : {}),
    });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const q = url.searchParams;
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    // /upload/storage/v1/b/:bucket/o
    if (segments[0] === "upload" && segments[3] === "b" && segments[5] === "o") {
      return handleUpload(req, res, segments[4], q);
    }
    if (segments[0] !== "storage" || segments[1] !== "v1" || segments[2] !== "b" || !segments[3]) {
      throw new HttpError(404, `unknown path ${url.pathname}`, "notFound");
    }
    const bucket = segments[3];
    if (segments.length === 4) return sendJson(res, 200, { kind: "storage#bucket", name: bucket, id: bucket });
    if (segments[4] !== "o") throw new HttpError(404, `unknown path ${url.pathname}`, "notFound");
    if (segments.length === 5 && req.method === "GET") return handleList(res, bucket, q);
    const name = segments[5];
    // .../o/:src/rewriteTo/b/:bucket/o/:dst  and  .../o/:src/copyTo/b/:bucket/o/:dst
    if (segments.length === 11 && (segments[6] === "rewriteTo" || segments[6] === "copyTo") && req.method === "POST") {
      await readBody(req);
      const source = mustGet(bucket, name);
      checkPreconditions(segments[8], segments[10], q);
      const copy = store(segments[8], segments[10], Buffer.from(source.data), source.contentType);
      if (segments[6] === "copyTo") return sendJson(res, 200, metadataOf(copy));
      const size = String(copy.data.length);
      return sendJson(res, 200, {
        kind: "storage#rewriteResponse",
        totalBytesRewritten: size,
        objectSize: size,
        done: true,
        resource: metadataOf(copy),
      });
    }
    if (segments.length !== 6) throw new HttpError(404, `unknown path ${url.pathname}`, "notFound");
    if (req.method === "GET") {
      const o = mustGet(bucket, name);
      if (q.get("alt") === "media") return handleDownload(req, res, o);
      return sendJson(res, 200, metadataOf(o));
    }
    if (req.method === "DELETE") {
      mustGet(bucket, name);
      checkPreconditions(bucket, name, q);
      objects.delete(keyOf(bucket, name));
      res.writeHead(204);
      return res.end();
    }
    throw new HttpError(405, `method ${req.method} not supported on objects`, "invalid");
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      const reason = err instanceof HttpError ? err.reason : "backendError";
      if (!res.headersSent) sendJson(res, status, { error: { code: status, message, errors: [{ message, reason }] } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    getObject: (bucket, name) => objects.get(keyOf(bucket, name))?.data,
    corrupt(bucket, name) {
      const o = mustGet(bucket, name);
      const data = Buffer.from(o.data);
      data[0] ^= 0xff;
      o.data = data;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
