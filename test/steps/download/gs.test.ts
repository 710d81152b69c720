/**
 * gs:// through the storage layer's GCS backend (the official client against the fake GCS server on
 * 127.0.0.1): a single object and a prefix of objects as sources, and a gs:// output folder, which
 * the step assembles in a local staging folder and publishes object by object.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gcsFileSystem } from "../../../src/io/index.ts";
import { runDownload } from "../../../src/steps/download/index.ts";
import type { SourceSpec } from "../../../src/steps/sources/index.ts";
import { useFakeGcs } from "../../support/fake-gcs-suite.ts";

const fake = useFakeGcs();
const root = mkdtempSync(path.join(os.tmpdir(), "kiln-download-gs-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("gs:// sources and outputs", () => {
  it("copies one object and a whole prefix into a local output, with matching sha256", async () => {
    const one = randomBytes(20_000);
    const a = Buffer.from("first\n");
    const b = randomBytes(9_000);
    const fs = gcsFileSystem();
    await fs.writeAtomic("gs://raw/single/blob.bin", one);
    await fs.writeAtomic("gs://raw/shards/x/a.txt", a);
    await fs.writeAtomic("gs://raw/shards/y/b.bin", b);
    const out = path.join(root, "local-out");
    const result = await runDownload({
      outputPath: out,
      sources: [
        { name: "one", kind: "gs", url: "gs://raw/single/blob.bin", description: "", approxBytes: 0 },
        { name: "many", kind: "gs", url: "gs://raw/shards/", description: "", approxBytes: 0 },
      ],
    });
    expect(result.files).toEqual([
      { path: "many/x/a.txt", bytes: a.length, sha256: sha(a), source: "many" },
      { path: "many/y/b.bin", bytes: b.length, sha256: sha(b), source: "many" },
      { path: "one/blob.bin", bytes: one.length, sha256: sha(one), source: "one" },
    ]);
  });

  it("writes into a gs:// output folder through local staging", async () => {
    const local = path.join(root, "upload-src.txt");
    const content = Buffer.from("to the bucket\n");
    writeFileSync(local, content);
    const input = {
      outputPath: "gs://out/kiln/download-abc",
      sources: [
        { name: "up", kind: "file", path: local, description: "", approxBytes: 0 },
        { name: "humor", kind: "embedded", reader: "brown", options: { genres: ["r"] }, description: "", approxBytes: 0 },
      ] as SourceSpec[],
    };
    const result = await runDownload(input);
    expect(fake.server.getObject("out", "kiln/download-abc/up/upload-src.txt")?.equals(content)).toBe(true);
    const part = fake.server.getObject("out", "kiln/download-abc/humor/part-00000-of-00001.jsonl");
    expect(part).toBeDefined();
    expect(result.files.find((f) => f.source === "humor")?.sha256).toBe(sha(part!));
    expect(result.files.find((f) => f.source === "up")).toEqual({ path: "up/upload-src.txt", bytes: content.length, sha256: sha(content), source: "up" });

    // Rerun: the published object is found in the bucket and hashed there, not copied again.
    const counts: Record<string, number> = {};
    const again = await runDownload({ ...input, counters: { increment: (n, by = 1) => void (counts[n] = (counts[n] ?? 0) + by) } });
    expect(counts.files_reused).toBe(1);
    expect(counts.files_downloaded).toBeUndefined();
    expect(again.files).toEqual(result.files);
  });
});
