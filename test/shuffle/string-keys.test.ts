/**
 * String keys are buffered as their UTF-8 bytes in the entry, not as strings (arena.ts): the map
 * side's sort must still order them as compareKeys orders strings (UTF-16 code units), past the
 * twelve units its prefix numbers cover, including where UTF-8's code point order differs (a
 * character of U+E000–U+FFFF against one past U+FFFF); equal keys keep their arrival order; a key of
 * another type arriving later turns the buffered strings back into values; combiners see each key
 * once.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { compareKeys, keepFirst, type ShuffleKey } from "../../src/shuffle/index.ts";
import { readAll, rng, scatter, tempDir } from "./helpers.ts";

interface Row {
  k: ShuffleKey;
  seq: number;
  n: number;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

/** Keys that tie on their first twelve units and differ after them, in every way that matters to the order. */
function keys(): string[] {
  const common = "a shared head";
  const tails = ["", "a", "b", "ab", "\uFF21", "\uE000", "\uFFFD", "\u{1F600}", "\u{1D49C}", "\u00E9", "\u4E2D", "z".repeat(300), "z".repeat(299) + "\uFF21", "z".repeat(299) + "\u{1F600}"];
  const out = [...tails.map((t) => common + t), ...tails.map((t) => t + common), "", "x", "\uFF21", "\u{1F600}"];
  for (let i = 0; i < 40; i++) out.push(`domain-${i}.example`);
  return out;
}

function rowsOf(ks: ShuffleKey[], copies: number): Row[] {
  const random = rng(11);
  const rows: Row[] = [];
  for (let c = 0; c < copies; c++) for (const k of ks) rows.push({ k, seq: rows.length, n: 1 + Math.floor(random() * 10) });
  // Shuffled, so arrival order is not key order; seq then records arrival order.
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows.map((r, seq) => ({ ...r, seq }));
}

async function sortedThroughOneRun(rows: Row[], combine?: (a: Row, b: Row) => Row): Promise<Row[]> {
  const dir = await tempDir("string-keys");
  dirs.push(dir);
  // One map task and one partition with room for everything: the output order is the arena's sort.
  const outputs = await scatter([rows], { outputDir: dir, numPartitions: 1, key: (r) => r.k, combine, memoryBudgetBytes: 64 << 20 });
  const { entries } = await readAll<Row>({ mapOutputs: outputs, partition: 0, combine });
  return entries.map((e) => e.record);
}

function expectedOrder(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => compareKeys(a.k, b.k) || a.seq - b.seq);
}

describe("string keys buffered as bytes", () => {
  it("sort as compareKeys orders strings, equal keys in arrival order", async () => {
    const rows = rowsOf(keys(), 3);
    const got = await sortedThroughOneRun(rows);
    expect(got.map((r) => [r.k, r.seq])).toEqual(expectedOrder(rows).map((r) => [r.k, r.seq]));
  });

  it("a key of another type arriving after strings: every key still in compareKeys order", async () => {
    const strings = rowsOf(keys(), 2);
    const others = rowsOf([null, 7, -1.5, true, ["a", 2]], 2).map((r) => ({ ...r, seq: r.seq + strings.length }));
    const rows = [...strings.slice(0, 50), ...others, ...strings.slice(50)];
    const got = await sortedThroughOneRun(rows);
    expect(got.map((r) => [r.k, r.seq])).toEqual(expectedOrder(rows).map((r) => [r.k, r.seq]));
  });

  it("combiners see each key once: keepFirst keeps the earliest, a sum adds every copy", async () => {
    const rows = rowsOf(keys(), 4);
    const firsts = await sortedThroughOneRun(rows, keepFirst);
    const earliest = new Map<ShuffleKey, number>();
    for (const r of rows) if (!earliest.has(r.k)) earliest.set(r.k, r.seq);
    expect(firsts.map((r) => [r.k, r.seq])).toEqual([...earliest].sort((a, b) => compareKeys(a[0], b[0])));
    const sums = await sortedThroughOneRun(rows, (a, b) => ({ k: a.k, seq: a.seq, n: a.n + b.n }));
    const total = new Map<ShuffleKey, number>();
    for (const r of rows) total.set(r.k, (total.get(r.k) ?? 0) + r.n);
    expect(sums.map((r) => [r.k, r.n])).toEqual([...total].sort((a, b) => compareKeys(a[0], b[0])));
  });
});
