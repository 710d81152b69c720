/**
 * The map and reduce tasks of the shuffle groupBy/dedup benchmark, in a module of their own so that
 * they run alike inline and on worker threads (through shuffle-bench-worker.mjs). A map task reads
 * one byte range of the JSONL input, parses each line and scatters it by the case's key; a reduce
 * task streams one partition's groups and sums what the benchmark checks against the peers.
 * `groupby` moves every row to its group; `dedup` is what the deduplicate operator runs (keepFirst
 * as the combiner, on the map side and in the merge); `count` is groupBy with a summing combiner
 * over {n, chars}, the aggregate the DuckDB query computes.
 */
import * as fsp from "node:fs/promises";
import { ScatterWriter, ShuffleReader, keepFirst, listMapOutputs } from "../../src/shuffle/index.ts";

export type Op = "groupby" | "dedup" | "count";
export type Dist = "uniform" | "skewed";
export interface Row { id: string; uniform: string; skewed: string; text: string }

export interface MapSpec { op: Op; dist: Dist; jsonl: string; work: string; mapTask: number; start: number; end: number; partitions: number; budget: number }
export interface ReduceSpec { op: Op; work: string; partition: number; budget: number }
export interface ReduceResult { groups: number; rowsIn: number; textChars: number; spilledBytes: number; shuffleBytes: number }
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

export async function mapTask(spec: MapSpec): Promise<number> {
  const key = keyOf(spec.op, spec.dist);
  const common = { outputDir: spec.work, mapTask: spec.mapTask, numPartitions: spec.partitions, memoryBudgetBytes: spec.budget, operator: spec.op };
  let writer: ScatterWriter<Row> | ScatterWriter<Count>;
  let add: (row: Row) => Promise<void> | undefined;
  if (spec.op === "count") {
    const w = await ScatterWriter.open<Count>({ ...common, key: (c) => c.k, combine: sumCounts });
    add = (row) => w.add({ k: key(row), n: 1, chars: row.text.length });
    writer = w;
  } else {
    const w = await ScatterWriter.open<Row>({ ...common, key, combine: spec.op === "dedup" ? keepFirst : undefined });
    add = (row) => w.add(row);
    writer = w;
  }
  for await (const line of linesOfRange(spec.jsonl, spec.start, spec.end)) {
    const pending = add(JSON.parse(line) as Row);
    if (pending) await pending;
  }
  await writer.commit();
  return writer.stats.recordsIn;
}

/** Reduce: groups, and per group its rows (groupby), its first row (dedup) or its combined count. */
export async function reduceTask(spec: ReduceSpec): Promise<ReduceResult> {
  const mapOutputs = await listMapOutputs(spec.work);
  const out: ReduceResult = { groups: 0, rowsIn: 0, textChars: 0, spilledBytes: 0, shuffleBytes: 0 };
  let stats;
  if (spec.op === "count") {
    const reader = new ShuffleReader<Count>({ mapOutputs, partition: spec.partition, memoryBudgetBytes: spec.budget, combine: sumCounts });
    for await (const c of reader.records()) {
      out.groups++;
      out.rowsIn += c.n;
      out.textChars += c.chars;
    }
    stats = reader.stats;
  } else {
    const reader = new ShuffleReader<Row>({ mapOutputs, partition: spec.partition, memoryBudgetBytes: spec.budget, combine: spec.op === "dedup" ? keepFirst : undefined });
    for await (const group of reader.groups()) {
      out.groups++;
      let first = true;
      for await (const r of group.values) {
        out.rowsIn++;
        if (spec.op === "groupby" || first) out.textChars += r.text.length;
        first = false;
      }
    }
    stats = reader.stats;
  }
  out.spilledBytes = stats.spilledBytes;
  out.shuffleBytes = stats.compressedBytes;
  return out;
}
