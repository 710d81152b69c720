/**
 * The download step end to end on real files and a real local HTTP server: url, single-file,
 * folder and embedded sources land in one folder each; the result's sha256 values match node:crypto
 * over the final files; concurrency stays within its bound; a rerun reuses finished files without
 * asking the server again; names that would escape the output folder are refused before any request.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitConfig } from "../../../src/graph/versioned.ts";
import { downloadStep, runDownload, UnsafePathError, type DownloadResult } from "../../../src/steps/download/index.ts";
import type { SourceSpec } from "../../../src/steps/sources/index.ts";
import { serveBytes, startServer, type TestServer } from "./http-fixture.ts";
import { contextFor } from "./step-helpers.ts";

let server: TestServer;
const root = mkdtempSync(path.join(os.tmpdir(), "kiln-download-step-"));
beforeAll(async () => void (server = await startServer()));
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const fastRetry = { retries: 2, initialDelayMs: 5, maxDelayMs: 10 };
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function expectHashesMatchFiles(out: string, result: DownloadResult): void {
  for (const f of result.files) {
    const data = readFileSync(path.join(out, f.path));
    expect(f.sha256).toBe(sha(data));
    expect(f.bytes).toBe(data.length);
  }
}

describe("downloadStep", () => {
  it("fetches url, file, folder and embedded sources with sha256 that matches the final files", async () => {
    const bodies = [randomBytes(40_000), randomBytes(1), Buffer.from("third\n")];
    bodies.forEach((b, i) => server.route(`/data/f${i}.bin`, serveBytes(b, { delayMs: 30 })));
    const local = path.join(root, "local-src");
    mkdirSync(path.join(local, "nested/deeper"), { recursive: true });
    writeFileSync(path.join(local, "a.txt"), "alpha\n");
    writeFileSync(path.join(local, "nested/deeper/b.jsonl"), '{"text":"beta"}\n');
    const single = path.join(root, "single.csv");
    writeFileSync(single, "x,y\n1,2\n");
    const sources: SourceSpec[] = [
      ...bodies.map((_, i): SourceSpec => ({ name: `web-${i}`, kind: "url", url: server.url(`/data/f${i}.bin`), description: "", approxBytes: 0 })),
      { name: "folder", kind: "file", path: local, description: "", approxBytes: 0 },
      { name: "one-file", kind: "file", path: single, description: "", approxBytes: 0 },
      { name: "humor", kind: "embedded", reader: "brown", options: { genres: ["r"] }, description: "", approxBytes: 0 },
    ];
    const dl = downloadStep({ name: "raw/mixed", sources, concurrency: 2, retry: fastRetry });
    const out = path.join(root, "mixed");
    const { ctx, counts } = contextFor(dl, out);
    const result = (await dl.run(ctx as never)) as DownloadResult;

    expect(result.files.map((f) => f.path)).toEqual([
      "folder/a.txt",
      "folder/nested/deeper/b.jsonl",
      "humor/part-00000-of-00001.jsonl",
      "one-file/single.csv",
      "web-0/f0.bin",
      "web-1/f1.bin",
      "web-2/f2.bin",
    ]);
    expectHashesMatchFiles(out, result);
    bodies.forEach((b, i) => expect(readFileSync(path.join(out, `web-${i}/f${i}.bin`)).equals(b)).toBe(true));
    expect(readFileSync(path.join(out, "folder/nested/deeper/b.jsonl"), "utf8")).toBe('{"text":"beta"}\n');
    expect(result.files.find((f) => f.path.startsWith("humor/"))?.source).toBe("humor");
    expect(counts.files_downloaded).toBe(6);
    expect(server.maxInFlight()).toBeLessThanOrEqual(2);
    expect(server.maxInFlight()).toBeGreaterThanOrEqual(1);
    expect(readdirSync(out, { recursive: true }).filter((n) => String(n).endsWith(".part"))).toEqual([]);

    // A second run keeps the finished files and asks the server for nothing.
    const before = server.requests.length;
    const again = contextFor(dl, out);
    const second = (await dl.run(again.ctx as never)) as DownloadResult;
    expect(server.requests.length).toBe(before);
    expect(again.counts.files_reused).toBe(6);
    expect(second.files).toEqual(result.files);
  });

  it("puts the sources in the step's version, and not the limits", () => {
    const spec: SourceSpec = { name: "w", kind: "url", url: "http://127.0.0.1:1/x.bin", description: "", approxBytes: 0 };
    const a = splitConfig(downloadStep({ sources: [spec], concurrency: 1 }).config).versionedByPath;
    const b = splitConfig(downloadStep({ sources: [spec], concurrency: 8, maxFileBytes: 5 }).config).versionedByPath;
    expect(a).toEqual(b);
    expect(a).toEqual({ sources: [spec] });
    const byName = splitConfig(downloadStep({ sources: ["brown-press"] }).config).versionedByPath;
    expect((byName.sources as SourceSpec[])[0]).toMatchObject({ name: "brown-press", kind: "embedded", reader: "brown" });
  });

  it("refuses names that would escape the output folder, before any request", async () => {
    const out = path.join(root, "escape");
    const before = server.requests.length;
    const attempts: SourceSpec[] = [
      { name: "t1", kind: "url", url: server.url("/data/..%2F..%2Fescaped.txt"), description: "", approxBytes: 0 },
      { name: "t2", kind: "url", url: server.url("/data/f0.bin"), fileName: "../../escaped.txt", description: "", approxBytes: 0 },
      { name: "t3", kind: "url", url: server.url("/data/f0.bin"), fileName: "/tmp/escaped.txt", description: "", approxBytes: 0 },
      { name: "t4", kind: "url", url: server.url("/data/%2e%2e%5cescaped.txt"), description: "", approxBytes: 0 },
      { name: "t5", kind: "url", url: server.url("/data/"), description: "", approxBytes: 0 },
    ];
    for (const source of attempts) {
      const err = await runDownload({ outputPath: out, sources: [source], retry: fastRetry }).catch((e: unknown) => e);
      expect(err, JSON.stringify(source)).toBeInstanceOf(UnsafePathError);
      expect((err as UnsafePathError).code).toBe("KILN_UNSAFE_PATH");
    }
    expect(server.requests.length).toBe(before);
    expect(existsSync(path.join(root, "escaped.txt"))).toBe(false);
    expect(existsSync("/tmp/escaped.txt")).toBe(false);
    // A source name with '..' is refused when the step is defined.
    expect(() => downloadStep({ sources: [{ ...attempts[1], name: ".." }] })).toThrow(/field 'name'/);
  });

  it("refuses a missing local path and an empty folder instead of producing nothing", async () => {
    const empty = path.join(root, "empty-folder");
    mkdirSync(empty, { recursive: true });
    const out = path.join(root, "missing");
    await expect(
      runDownload({ outputPath: out, sources: [{ name: "m", kind: "file", path: path.join(root, "nope.txt"), description: "", approxBytes: 0 }] }),
    ).rejects.toThrow(/does not exist/);
    await expect(runDownload({ outputPath: out, sources: [{ name: "e", kind: "file", path: empty, description: "", approxBytes: 0 }] })).rejects.toThrow(
      /nothing found below/,
    );
  });
});
