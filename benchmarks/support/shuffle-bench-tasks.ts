/**
 * The kiln side of the shuffle groupBy/dedup benchmark: row functions the Dataset engine runs by
 * reference (keys, counts, per-group stats), and the byte-range line reader of the parse-only floor.
 * A reduce streams one partition's groups and sums what the benchmark checks against the peers.
 * `groupby` moves every row to its group; `dedup` is what the deduplicate operator runs (keepFirst
 * as the combiner, on the map side and in the merge); `count` is groupBy with a summing combiner
 * over {n, chars}, the aggregate the DuckDB query computes.
 */
import * as fsp from "node:fs/promises";

export type Op = "groupby" | "dedup" | "count";
export type Dist = "uniform" | "skewed";
export interface Row { id: string; uniform: string; skewed: string; text: string }

interface Count { k: string; n: number; chars: number }

const sumCounts = (a: Count, b: Count): Count => ({ k: a.k, n: a.n + b.n, chars: a.chars + b.chars });

export function keyOf(op: Op, dist: Dist): (r: Row) => string {
  if (op === "dedup" && dist === "uniform") return (r) => r.id;
  return dist === "uniform" ? (r) => r.uniform : (r) => r.skewed;
}

/** Lines of the byte range [start, end) of a file; a line belongs to the range its first byte is in. */
export async function* linesOfRange(file: string, start: number, end: number): AsyncGenerator<string> {
  const fh = await fsp.open(file, "r");
  try {
    const chunk = Buffer.allocUnsafe(4 << 20);
    let pos = start > 0 ? start - 1 : 0;
    let skipFirst = start > 0; // the fragment up to the first newline belongs to the previous range
    let carry = Buffer.alloc(0);
    let carryOffset = pos;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) break;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let s = 0;
      for (let nl = buf.indexOf(10, s); nl !== -1; nl = buf.indexOf(10, s)) {
        if (skipFirst) skipFirst = false;
        else if (carryOffset + s >= end) return;
        else yield buf.toString("utf8", s, nl);
        s = nl + 1;
      }
      carry = Buffer.from(buf.subarray(s));
      carryOffset += s;
      pos += bytesRead;
    }
    if (carry.length > 0 && !skipFirst && carryOffset < end) yield carry.toString("utf8");
  } finally {
    await fh.close();
  }
}

/** Row functions of the kiln side, run by the Dataset engine (fn(SHUFFLE_BENCH_FUNCTIONS, f)). */
export const SHUFFLE_BENCH_FUNCTIONS = import.meta.url;

export function keyFunction(args: { op: Op; dist: Dist }): (r: Row) => string {
  return keyOf(args.op, args.dist);
}

export function countOf(args: { op: Op; dist: Dist }): (r: Row) => Count {
  const key = keyOf(args.op, args.dist);
  return (r) => ({ k: key(r), n: 1, chars: r.text.length });
}

export function countKey(c: Count): string {
  return c.k;
}

export function addCounts(a: Count, b: Count): Count {
  return sumCounts(a, b);
}

/** Reducer of `count`: the group's combined count as stats. */
export async function countStats(_key: unknown, values: AsyncIterable<Count>): Promise<GroupStats> {
  const out = { groups: 1, rowsIn: 0, textChars: 0 };
  for await (const c of values) {
    out.rowsIn += c.n;
    out.textChars += c.chars;
  }
  return out;
}

/** Reducer of `groupby`: every row of the group streamed and summed. */
export async function groupStats(_key: unknown, values: AsyncIterable<Row>): Promise<GroupStats> {
  const out = { groups: 1, rowsIn: 0, textChars: 0 };
  for await (const r of values) {
    out.rowsIn++;
    out.textChars += r.text.length;
  }
  return out;
}

/** `dedup`: the kept row of a key as stats (its input rows are counted by the map side). */
export function rowStats(r: Row): GroupStats {
  return { groups: 1, rowsIn: 1, textChars: r.text.length };
}

export interface GroupStats {
  groups: number;
  rowsIn: number;
  textChars: number;
}

export function addStats(a: GroupStats, b: GroupStats): GroupStats {
  return { groups: a.groups + b.groups, rowsIn: a.rowsIn + b.rowsIn, textChars: a.textChars + b.textChars };
}
