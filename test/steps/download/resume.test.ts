/**
 * http downloads against a real local server: a transfer cut midway resumes with a Range request
 * (checked on the server side), within one run and across runs; a server that ignores Range gets a
 * clean restart; 503s are retried with backoff until success; a 404 is not retried; files over the
 * size limit are aborted (declared or streamed) and leave nothing behind; a wrong checksum fails.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChecksumMismatchError,
  DownloadError,
  FileTooLargeError,
  HttpStatusError,
  runDownload,
  type RunDownloadInput,
} from "../../../src/steps/download/index.ts";
import type { SourceSpec } from "../../../src/steps/sources/index.ts";
import { cutThenServe, failThenServe, ignoreRange, serveBytes, startServer, streamWithoutLength, type TestServer } from "./http-fixture.ts";

let server: TestServer;
const root = mkdtempSync(path.join(os.tmpdir(), "kiln-download-"));
beforeAll(async () => void (server = await startServer()));
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const fastRetry = { retries: 3, initialDelayMs: 5, maxDelayMs: 20 };
let dirs = 0;
const freshDir = () => path.join(root, `out-${++dirs}`);
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const urlSource = (name: string, route: string, extra: Partial<SourceSpec> = {}): SourceSpec =>
  ({ name, kind: "url", url: server.url(route), description: "test", approxBytes: 0, ...extra }) as SourceSpec;

function counters() {
  const counts: Record<string, number> = {};
  return { counts, increment: (n: string, by = 1) => void (counts[n] = (counts[n] ?? 0) + by) };
}

function run(outputPath: string, sources: SourceSpec[], extra: Partial<RunDownloadInput> = {}) {
  return runDownload({ outputPath, sources, retry: fastRetry, ...extra });
}

describe("resuming interrupted downloads", () => {
  it("retries a transfer cut after N bytes with Range: bytes=N- and gets the rest (one run)", async () => {
    const body = randomBytes(300_000);
    server.route("/cut-once.bin", cutThenServe(body, 100_000));
    const out = freshDir();
    const c = counters();
    const result = await run(out, [urlSource("cut", "/cut-once.bin")], { counters: c });
    const seen = server.requests.filter((r) => r.path === "/cut-once.bin");
    expect(seen.map((r) => r.range)).toEqual([undefined, "bytes=100000-"]);
    expect(seen[1].status).toBe(206);
    const final = readFileSync(path.join(out, "cut/cut-once.bin"));
    expect(final.equals(body)).toBe(true);
    expect(result.files).toEqual([{ path: "cut/cut-once.bin", bytes: body.length, sha256: sha(final), source: "cut" }]);
    expect(c.counts).toMatchObject({ download_retries: 1, downloads_resumed: 1, files_downloaded: 1, bytes_downloaded: 300_000 });
    expect(existsSync(path.join(out, "cut/cut-once.bin.part"))).toBe(false);
  });

  it("keeps the partial data in .part when retries run out, and the next run resumes from it", async () => {
    const body = randomBytes(250_000);
    server.route("/cut-rerun.bin", cutThenServe(body, 60_000));
    const out = freshDir();
    const source = urlSource("rerun", "/cut-rerun.bin");
    const failed = await run(out, [source], { retry: { retries: 0, initialDelayMs: 1, maxDelayMs: 1 } }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(DownloadError);
    expect((failed as DownloadError).hint).toMatch(/60000 bytes are kept in .*cut-rerun\.bin\.part/);
    expect(statSync(path.join(out, "rerun/cut-rerun.bin.part")).size).toBe(60_000);
    expect(existsSync(path.join(out, "rerun/cut-rerun.bin"))).toBe(false);

    await run(out, [source]);
    const seen = server.requests.filter((r) => r.path === "/cut-rerun.bin");
    expect(seen.map((r) => r.range)).toEqual([undefined, "bytes=60000-"]);
    expect(readFileSync(path.join(out, "rerun/cut-rerun.bin")).equals(body)).toBe(true);
  });

  it("starts over when the server ignores the Range header and answers 200", async () => {
    const body = randomBytes(120_000);
    server.route("/no-range.bin", (req, res, hit) => (hit === 1 ? cutThenServe(body, 50_000)(req, res, 1) : ignoreRange(body)(req, res, hit)));
    const out = freshDir();
    await run(out, [urlSource("nr", "/no-range.bin")]);
    const seen = server.requests.filter((r) => r.path === "/no-range.bin");
    expect(seen.map((r) => [r.range, r.status])).toEqual([[undefined, 200], ["bytes=50000-", 200]]);
    expect(readFileSync(path.join(out, "nr/no-range.bin")).equals(body)).toBe(true);
  });
});

describe("retries", () => {
  it("retries 503 with backoff until the server recovers", async () => {
    const body = Buffer.from("recovered after two failures\n");
    server.route("/flaky.txt", failThenServe(body, 2));
    const out = freshDir();
    const c = counters();
    await run(out, [urlSource("flaky", "/flaky.txt")], { counters: c });
    expect(server.requests.filter((r) => r.path === "/flaky.txt").map((r) => r.status)).toEqual([503, 503, 200]);
    expect(c.counts.download_retries).toBe(2);
    expect(readFileSync(path.join(out, "flaky/flaky.txt"), "utf8")).toBe("recovered after two failures\n");
  });

  it("gives up after the configured retries with an error naming the URL and status", async () => {
    server.route("/down.txt", failThenServe(Buffer.from("x"), 1000));
    const err = await run(freshDir(), [urlSource("down", "/down.txt")], { retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 2 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/down\.txt failed after 3 attempt\(s\): .*HTTP 503/);
    expect(server.requests.filter((r) => r.path === "/down.txt")).toHaveLength(3);
  });

  it("does not retry a 404", async () => {
    const err = await run(freshDir(), [urlSource("missing", "/missing.txt")]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).status).toBe(404);
    expect(server.requests.filter((r) => r.path === "/missing.txt")).toHaveLength(1);
  });
});

describe("limits and verification", () => {
  it("aborts a file whose declared length is over the limit, leaving nothing behind", async () => {
    server.route("/declared-big.bin", serveBytes(randomBytes(50_000)));
    const out = freshDir();
    const err = await run(out, [urlSource("big", "/declared-big.bin")], { maxFileBytes: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect((err as Error).message).toMatch(/declared as 50000 bytes, over the limit of 10000/);
    expect(existsSync(path.join(out, "big/declared-big.bin"))).toBe(false);
    expect(existsSync(path.join(out, "big/declared-big.bin.part"))).toBe(false);
    expect(server.requests.filter((r) => r.path === "/declared-big.bin")).toHaveLength(1); // not retried
  });

  it("aborts a stream without Content-Length once it passes the limit", async () => {
    server.route("/endless.bin", streamWithoutLength(5_000_000));
    const out = freshDir();
    const err = await run(out, [urlSource("endless", "/endless.bin")], { maxFileBytes: 100_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect((err as Error).message).toMatch(/at least \d+ bytes, over the limit of 100000/);
    expect(existsSync(path.join(out, "endless/endless.bin.part"))).toBe(false);
  });

  it("fails on a sha256 mismatch and accepts the right one", async () => {
    const body = Buffer.from("checked content\n");
    server.route("/checked.txt", serveBytes(body));
    const wrong = "0".repeat(64);
    const out = freshDir();
    const err = await run(out, [urlSource("chk", "/checked.txt", { sha256: wrong })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect(existsSync(path.join(out, "chk/checked.txt"))).toBe(false);
    const ok = await run(out, [urlSource("chk", "/checked.txt", { sha256: sha(body) })]);
    expect(ok.files[0].sha256).toBe(sha(body));
  });
});
