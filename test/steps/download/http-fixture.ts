/**
 * A real HTTP server on 127.0.0.1 for the download tests. Each route is a small behaviour (serve
 * with Range support, cut the connection after N bytes, fail with 503 a few times, ignore Range,
 * announce or stream too many bytes), and the server records every request it gets, including its
 * Range header, so tests check resumption on the server side.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  path: string;
  range: string | undefined;
  status: number;
}

export type Route = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void | Promise<void>;

export interface TestServer {
  url(path: string): string;
  requests: SeenRequest[];
  route(path: string, handler: Route): void;
  maxInFlight(): number;
  close(): Promise<void>;
}

/** Serves `body`, honouring `Range: bytes=N-` with a 206, optionally after `delayMs`. */
export function serveBytes(body: Buffer, options: { delayMs?: number } = {}): Route {
  return async (req, res) => {
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { "content-length": body.length });
    res.end(body);
  };
}

/** First `cuts` requests: announce the whole length, send `cutAfter` bytes, then kill the socket. */
export function cutThenServe(body: Buffer, cutAfter: number, cuts = 1): Route {
  const serve = serveBytes(body);
  return (req, res, hit) => {
    if (hit > cuts) return serve(req, res, hit);
    res.writeHead(200, { "content-length": body.length });
    res.write(body.subarray(0, cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
  };
}

/** First `failures` requests get `status`; later ones are served. */
export function failThenServe(body: Buffer, failures: number, status = 503): Route {
  const serve = serveBytes(body);
  return (req, res, hit) => (hit <= failures ? void res.writeHead(status).end("unavailable") : serve(req, res, hit));
}

/** Always answers 200 with the whole body, whatever the Range header says. */
export function ignoreRange(body: Buffer): Route {
  return (_req, res) => void res.writeHead(200, { "content-length": body.length }).end(body);
}

/** Streams `total` bytes without a Content-Length (chunked). */
export function streamWithoutLength(total: number): Route {
  return async (_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    const chunk = Buffer.alloc(16 * 1024, 7);
    for (let sent = 0; sent < total && !res.destroyed; sent += chunk.length) {
      if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
    }
    res.end();
  };
}

export async function startServer(): Promise<TestServer> {
  const routes = new Map<string, Route>();
  const hits = new Map<string, number>();
  const requests: SeenRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const seen: SeenRequest = { path, range: req.headers.range, status: 0 };
    requests.push(seen);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    const originalWriteHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      seen.status = status;
      return (originalWriteHead as (...a: unknown[]) => http.ServerResponse)(status, ...rest);
    }) as typeof res.writeHead;
    const route = routes.get(path);
    if (!route) return void res.writeHead(404).end("not found");
    await route(req, res, hit);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    requests,
    route: (p, handler) => void routes.set(p, handler),
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
