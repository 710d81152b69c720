/**
 * The reduce side of the shuffle: `ShuffleReader` reads every map task's committed sidecar (bounded
 * concurrency), fetches only its own partition's frames with ranged reads (local or gs://), and
 * k-way merges the map tasks' sorted runs into one stream in (key, sortBy) order. Each run is read
 * frame by frame with one frame fetched ahead and decoded a slice of entries at a time, so a run
 * costs about two frames of bytes and a few hundred decoded entries. When the
 * runs would exceed half the memory budget it merges them in batches into sorted runs on local disk,
 * merges those with bounded fan-in until one pass remains, and streams that last pass; peak memory
 * follows the budget, not the data. Spill files are removed when the stream ends, fails or is abandoned.
 */
import * as path from "node:path";
import pLimit from "p-limit";
import { openFileReader, type FileReader } from "../io/index.ts";
import { ShuffleConfigError } from "./errors.ts";
import type { ShuffleKey } from "./key.ts";
import { SLICE_ROWS, decodeFrameSlices, type FrameCodec, type FrameRef, type ShuffleEntry } from "./frame.ts";
import { framesOf, readSidecar, type MapOutput } from "./sidecar.ts";
import { mergeSorted, type EntryBatches } from "./merge.ts";
import { groupsOf, type GroupValues } from "./groups.ts";
import { createSpillDir, readRun, removeSpillDir, writeRun, type RunFile } from "./spill.ts";
import { DEFAULT_MEMORY_BUDGET } from "./writer.ts";
import { arenaBlocks } from "./arena.ts";

/**
 * A run being merged holds its current frame decompressed, the next one compressed, and one decoded
 * slice: its strings (at most the frame's bytes again) and a fixed amount of objects per entry (the
 * entry, the record, its key and sort-key values), measured at 150–280 bytes for small records.
 */
const DECODED_BYTES_PER_ENTRY = 200;
/**
 * Share of the budget that decoded records may take at once; the rest is headroom for garbage the
 * collector has not reclaimed yet, compressed bytes in flight, and the consumer's own work.
 */
const LIVE_SHARE = 0.5;

export interface ReadPartitionOptions<T> {
  /** Sidecar paths of the committed map outputs (see listMapOutputs). */
  mapOutputs: readonly string[];
  partition: number;
  combine?: (a: T, b: T) => T;
  memoryBudgetBytes?: number;
  /** Sidecars read at once. */
  sidecarConcurrency?: number;
  /** Frames read at once. */
  readConcurrency?: number;
  /** Most runs merged in one pass. */
  mergeFanIn?: number;
  /** Local parent folder for spill files; defaults to the OS temp folder. */
  spillDir?: string;
}

export interface ReadStats {
  mapOutputs: number;
  frames: number;
  rowsRead: number;
  /** Bytes of frames as stored (compressed or not). */
  compressedBytes: number;
  rawBytes: number;
  spilledRuns: number;
  spilledBytes: number;
  mergePasses: number;
}

export interface ShuffleGroup<T> {
  key: ShuffleKey;
  /** The group's records in sortBy order (and how many were read); read them before asking for the next group. */
  values: GroupValues<T>;
}

/** One sorted run of one map task: consecutive frames of its partition with the same run number. */
interface SourceRun {
  file: string;
  codec: FrameCodec;
  frames: FrameRef[];
}

export class ShuffleReader<T> {
  readonly stats: ReadStats = { mapOutputs: 0, frames: 0, rowsRead: 0, compressedBytes: 0, rawBytes: 0, spilledRuns: 0, spilledBytes: 0, mergePasses: 0 };
  private readonly budget: number;
  private readonly fanIn: number;
  private hasSort = false;

  constructor(private readonly opts: ReadPartitionOptions<T>) {
    this.budget = opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET;
    this.fanIn = opts.mergeFanIn ?? 64;
    if (this.fanIn < 2) throw new ShuffleConfigError(`mergeFanIn must be at least 2, got ${this.fanIn}`, "use the default of 64");
    arenaBlocks.letGo();
  }

  private async loadRuns(): Promise<SourceRun[]> {
    const limit = pLimit(this.opts.sidecarConcurrency ?? 16);
    const outputs: MapOutput[] = await Promise.all(this.opts.mapOutputs.map((p) => limit(() => readSidecar(p))));
    const seen = new Map<string, string>();
    const runs: SourceRun[] = [];
    let frameCount = 0;
    for (const out of outputs) {
      const { body } = out;
      const first = outputs[0].body;
      if (body.numPartitions !== first.numPartitions || body.hasSortKey !== first.hasSortKey) {
        throw new ShuffleConfigError(
          `map outputs disagree: ${out.sidecarPath} has ${body.numPartitions} partitions (sortBy ${body.hasSortKey}), ` +
            `${outputs[0].sidecarPath} has ${first.numPartitions} (sortBy ${first.hasSortKey})`,
          "all map tasks of one shuffle must use the same numPartitions and sortBy",
        );
      }
      const other = seen.get(body.mapTask);
      if (other !== undefined) {
        throw new ShuffleConfigError(`map task ${body.mapTask} is listed twice (${other}, ${out.sidecarPath})`, "pass each committed sidecar once");
      }
      seen.set(body.mapTask, out.sidecarPath);
      let current: SourceRun | undefined;
      for (const ref of framesOf(body, this.opts.partition)) {
        if (!current || current.frames[current.frames.length - 1].run !== ref.run) {
          current = { file: out.dataPath, codec: out.body.codec, frames: [] };
          runs.push(current);
        }
        current.frames.push(ref);
        frameCount++;
      }
    }
    if (outputs.length > 0) {
      const n = outputs[0].body.numPartitions;
      if (!(Number.isInteger(this.opts.partition) && this.opts.partition >= 0 && this.opts.partition < n)) {
        throw new ShuffleConfigError(`partition ${this.opts.partition} is outside [0, ${n})`, "read a partition the map tasks wrote");
      }
      this.hasSort = outputs[0].body.hasSortKey;
    }
    this.stats.mapOutputs = outputs.length;
    this.stats.frames = frameCount;
    return runs;
  }

  /**
   * One sorted source per run: its frames decoded one at a time, the next one fetched before the
   * current one is decoded, all through one open reader of the run's file. On local disk that reader
   * reads synchronously on one descriptor, so there the fetch does not overlap the decoding.
   */
  private readRuns(runs: SourceRun[]): EntryBatches<T>[] {
    const limit = pLimit(this.opts.readConcurrency ?? 8);
    const fetch = (reader: FileReader, ref: FrameRef): Promise<Buffer> => {
      const pending = limit(() => reader.readRange(ref.offset, ref.length));
      pending.catch(() => undefined); // awaited below; an abandoned prefetch must not be unhandled
      return pending;
    };
    const read = async function* (this: ShuffleReader<T>, { file, codec, frames }: SourceRun): AsyncGenerator<ShuffleEntry<T>[]> {
      const reader = await limit(() => openFileReader(file));
      try {
        let next = fetch(reader, frames[0]);
        for (let i = 0; i < frames.length; i++) {
          const bytes = await next;
          if (i + 1 < frames.length) next = fetch(reader, frames[i + 1]);
          for (const entries of decodeFrameSlices<T>(file, bytes, frames[i], codec, this.hasSort)) {
            this.stats.rowsRead += entries.length;
            yield entries;
          }
          this.stats.compressedBytes += frames[i].length;
          this.stats.rawBytes += frames[i].rawLength;
        }
      } finally {
        await reader.close();
      }
    };
    return runs.map((run) => read.call(this, run));
  }

  /** The partition as sorted batches of entries. Single use. */
  async *batches(): AsyncGenerator<ShuffleEntry<T>[]> {
    const runs = await this.loadRuns();
    // A run holds its current frame as read and expanded (one buffer when stored), its next one as read, and a slice scanned.
    const cost = (r: SourceRun) => {
      const copies = r.codec === "msgpack" ? 1 : 2;
      return r.frames.reduce((m, f) => Math.max(m, copies * f.rawLength + f.length + Math.min(f.rows, SLICE_ROWS) * DECODED_BYTES_PER_ENTRY), 0);
    };
    const total = runs.reduce((s, r) => s + cost(r), 0);
    const live = this.budget * LIVE_SHARE;
    if (total <= live && runs.length <= this.fanIn) {
      this.stats.mergePasses = 1;
      yield* mergeSorted(this.readRuns(runs), this.opts.combine);
      return;
    }
    const spillDir = await createSpillDir(this.opts.spillDir);
    try {
      const chunkBytes = Math.max(16 * 1024, Math.floor(live / (this.fanIn * 8)));
      let spilled: RunFile[] = [];
      let runCount = 0;
      const spill = async (sources: EntryBatches<T>[]): Promise<void> => {
        const run = await writeRun(path.join(spillDir, `run-${runCount++}`), mergeSorted(sources, this.opts.combine), this.hasSort, chunkBytes);
        spilled.push(run);
        this.stats.spilledRuns++;
        this.stats.spilledBytes += run.bytes;
      };
      // Pass 1: map runs in batches of at most half the live share (and fanIn runs), each merged into a spilled run.
      let batch: SourceRun[] = [];
      let batchCost = 0;
      for (const r of runs) {
        if (batch.length > 0 && (batchCost + cost(r) > live / 2 || batch.length >= this.fanIn)) {
          await spill(this.readRuns(batch));
          batch = [];
          batchCost = 0;
        }
        batch.push(r);
        batchCost += cost(r);
      }
      if (batch.length > 0) await spill(this.readRuns(batch));
      this.stats.mergePasses = 1;
      // Intermediate passes until one merge of at most fanIn runs remains.
      while (spilled.length > this.fanIn) {
        const previous = spilled;
        spilled = [];
        for (let i = 0; i < previous.length; i += this.fanIn) {
          const group = previous.slice(i, i + this.fanIn);
          await spill(group.map((r) => readRun<T>(r, this.hasSort)));
          for (const r of group) await removeSpillDir(r.path);
        }
        this.stats.mergePasses++;
      }
      this.stats.mergePasses++;
      yield* mergeSorted(spilled.map((r) => readRun<T>(r, this.hasSort)), this.opts.combine);
    } finally {
      await removeSpillDir(spillDir);
    }
  }

  /** The partition's entries in (key, sortBy) order. */
  async *entries(): AsyncGenerator<ShuffleEntry<T>> {
    for await (const batch of this.batches()) yield* batch;
  }

  /** The partition's records in (key, sortBy) order. */
  async *records(): AsyncGenerator<T> {
    for await (const batch of this.batches()) for (const e of batch) yield e.record;
  }

  /** The partition's groups in key order, each with its records streamed in sortBy order. */
  groups(): AsyncGenerator<ShuffleGroup<T>> {
    return groupsOf(this.batches());
  }
}

/** Shorthand: the sorted entries of one partition. */
export function readPartition<T>(opts: ReadPartitionOptions<T>): AsyncGenerator<ShuffleEntry<T>> {
  return new ShuffleReader<T>(opts).entries();
}
