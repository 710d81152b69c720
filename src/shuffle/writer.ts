/**
 * The map side of the shuffle: `ScatterWriter` takes records, computes each one's key, sort key
 * and target partition, and copies its encoded bytes into that partition's arena. When the measured
 * bytes (arena blocks plus a per-entry charge) reach the flush threshold (half the memory budget,
 * leaving room for sorting and compressing), the largest buffers are sorted by (key, sortBy),
 * combined, and appended to the data file as one sorted run: a sequence of zstd frames of at most
 * `maxFrameBytes` uncompressed each, so a reader holds one small frame per run, never a whole run.
 * The data file has an attempt-unique name; `commit()` writes the sidecar last, atomically, and that
 * is the commit point: a task killed before it leaves only an unreferenced data file, and a retried
 * task simply commits its own.
 */
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { fileSystemFor, joinPath, localFileSystem, schemeOf } from "../io/index.ts";
import { ShuffleConfigError } from "./errors.ts";
import { partitionOf, assertShuffleKey, wellFormedKey, type ShuffleKey } from "./key.ts";
import { codecFor, compressFrame, checksumOf, decodeEntryRecord, encodeEntry, encodeEntryView, frameLevel, type FrameLevel } from "./frame.ts";
import { keepFirst } from "./merge.ts";
import { PartitionArena, arenaBlocks, retainedBytes } from "./arena.ts";
import { SIDECAR_FORMAT, serializeSidecar, sidecarPathFor, toFrameTuple, type MapOutput, type SidecarBody } from "./sidecar.ts";

export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;
/** Bytes charged per buffered entry beyond its encoding and its key (the arena's numbers for it: five places, four key prefixes, a flag, the sort slot). */
const ENTRY_OVERHEAD = 96;

/** Default largest uncompressed frame for a budget: small enough that a reader can hold one per run. */
export function defaultMaxFrameBytes(budget: number): number {
  return Math.max(4096, Math.min(1024 * 1024, Math.floor(budget / 1024)));
}

export interface ScatterWriterOptions<T> {
  /** Folder (local or gs://) that receives the data file and the sidecar. */
  outputDir: string;
  /** Identity of the map task (e.g. its shard index); one committed sidecar per map task. */
  mapTask: string | number;
  /** Attempt id; defaults to a random one. Only used to make the data file name unique. */
  attempt?: string;
  numPartitions: number;
  key: (record: T) => unknown;
  sortBy?: (record: T) => unknown;
  /** Associative merge of two records with the same key. */
  combine?: (a: T, b: T) => T;
  /** Named in errors, e.g. "groupBy(domain)". */
  operator?: string;
  memoryBudgetBytes?: number;
  /** Largest uncompressed frame (a run is cut into frames of this size); defaults to budget / 1024, within [4 KiB, 1 MiB]. */
  maxFrameBytes?: number;
  /** zstd level of the frames, or "none" (stored); default: frame.ts's choice for a local or a remote outputDir. */
  compressionLevel?: FrameLevel;
  /** Local folder for the data file while it is written when outputDir is not local. */
  tempDir?: string;
  /**
   * Whether `commit()` flushes a local data file to disk (fsync) before the sidecar names it, so that
   * a committed map output survives the machine going down; default true. Off for files that no
   * process reads after a crash of the machine, such as an execution's own scratch folder.
   */
  syncData?: boolean;
}

export interface ScatterStats {
  recordsIn: number;
  framesWritten: number;
  rawBytes: number;
  bytesWritten: number;
  flushes: number;
  /** Arena blocks of flushed partitions (this writer's or an earlier one's in the thread) filled again instead of new ones. */
  reusedBlocks: number;
}

function validName(s: string, what: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(s)) {
    throw new ShuffleConfigError(`${what} '${s}' is not usable in a file name`, "use letters, digits, '.', '_' or '-'");
  }
  return s;
}

export class ScatterWriter<T> {
  readonly stats: ScatterStats = { recordsIn: 0, framesWritten: 0, rawBytes: 0, bytesWritten: 0, flushes: 0, reusedBlocks: 0 };
  private poolHeld = true;
  private readonly buffers: PartitionArena[];
  private readonly bufferedBytes: number[];
  private totalBuffered = 0;
  private readonly frames: Map<number, { rows: number; rawBytes: number; runs: number; frames: ReturnType<typeof toFrameTuple>[] }> = new Map();
  private maxFrameLength = 0;
  private maxFrameRawLength = 0;
  /** Where a flush assembles each frame before compressing it; one per writer, reused. */
  private frameBuffer: Buffer | undefined;
  private dataOffset = 0;
  private state: "open" | "committed" | "aborted" = "open";
  private readonly operator: string;
  private readonly flushThreshold: number;
  private readonly maxFrameBytes: number;
  private readonly hasSort: boolean;
  /** Whether outputDir is a local folder (else the data file is written locally and copied there on commit). */
  private readonly local: boolean;

  private constructor(
    private readonly opts: ScatterWriterOptions<T>,
    private readonly mapTask: string,
    private readonly attempt: string,
    private readonly dataFileName: string,
    private readonly localDataPath: string,
    private readonly handle: fsp.FileHandle,
    /** How this writer's frames are written (frame.ts: stored for a local folder, zstd 1 for remote storage). */
    private readonly level: FrameLevel,
  ) {
    const budget = opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET;
    this.flushThreshold = Math.max(1, Math.floor(budget / 2));
    this.maxFrameBytes = Math.max(1, opts.maxFrameBytes ?? defaultMaxFrameBytes(budget));
    this.operator = opts.operator ?? "shuffle";
    this.hasSort = opts.sortBy !== undefined;
    this.local = schemeOf(opts.outputDir) === "file";
    this.buffers = Array.from({ length: opts.numPartitions }, () => new PartitionArena(arenaBlocks));
    arenaBlocks.open();
    this.bufferedBytes = new Array(opts.numPartitions).fill(0);
  }

  /** Opens the attempt's data file. */
  static async open<T>(opts: ScatterWriterOptions<T>): Promise<ScatterWriter<T>> {
    if (!Number.isSafeInteger(opts.numPartitions) || opts.numPartitions < 1) {
      throw new ShuffleConfigError(`numPartitions must be a positive integer, got ${opts.numPartitions}`, "pass the reduce side's shard count");
    }
    const budget = opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET;
    if (!(budget >= 1024)) throw new ShuffleConfigError(`memoryBudgetBytes ${budget} is below 1 KiB`, "give the task a realistic budget");
    const mapTask = validName(String(opts.mapTask), "mapTask");
    const attempt = validName(opts.attempt ?? `${process.pid}-${randomBytes(4).toString("hex")}`, "attempt");
    const dataFileName = `map-${mapTask}.attempt-${attempt}.data`;
    const local = schemeOf(opts.outputDir) === "file";
    const level = opts.compressionLevel ?? frameLevel(local);
    let localDataPath: string;
    if (local) {
      const dir = opts.outputDir.startsWith("file://") ? new URL(opts.outputDir).pathname : opts.outputDir;
      await fsp.mkdir(dir, { recursive: true });
      localDataPath = path.join(dir, dataFileName);
    } else {
      const tmpRoot = opts.tempDir ?? os.tmpdir();
      await fsp.mkdir(tmpRoot, { recursive: true });
      localDataPath = path.join(tmpRoot, `kiln-scatter-${randomBytes(6).toString("hex")}-${dataFileName}`);
    }
    const handle = await fsp.open(localDataPath, "wx");
    return new ScatterWriter(opts, mapTask, attempt, dataFileName, localDataPath, handle, level);
  }

  /** Buffers one record; returns a promise only when the record triggered a flush. */
  add(record: T): Promise<void> | undefined {
    if (this.state !== "open") throw new ShuffleConfigError(`ScatterWriter for map task ${this.mapTask} is ${this.state}`, "open a new writer for a new attempt");
    const key = wellFormedKey(this.opts.key(record));
    const partition = partitionOf(key, this.opts.numPartitions, this.operator);
    let sort: ShuffleKey | undefined;
    if (this.opts.sortBy) {
      const s = wellFormedKey(this.opts.sortBy(record));
      assertShuffleKey(s, `${this.operator} sortBy`);
      sort = s;
    }
    const bytes = encodeEntryView(key as ShuffleKey, sort, record, this.hasSort);
    const cost = this.buffers[partition].append(key as ShuffleKey, sort, bytes) + ENTRY_OVERHEAD + retainedBytes(sort);
    this.bufferedBytes[partition] += cost;
    this.totalBuffered += cost;
    this.stats.recordsIn++;
    if (this.totalBuffered >= this.flushThreshold) return this.flushLargest();
    return undefined;
  }

  /** Buffers every record of a (sync or async) iterable. */
  async writeAll(records: Iterable<T> | AsyncIterable<T>): Promise<void> {
    for await (const r of records) {
      const pending = this.add(r);
      if (pending) await pending;
    }
  }

  /** Flushes the largest buffers until at most a quarter of the threshold stays buffered. */
  private async flushLargest(): Promise<void> {
    this.stats.flushes++;
    const order = this.bufferedBytes.map((b, p) => [b, p]).filter(([b]) => b > 0).sort((a, b) => b[0] - a[0]);
    for (const [, p] of order) {
      if (this.totalBuffered <= this.flushThreshold / 4) break;
      await this.flushPartition(p);
    }
  }

  /** Writes one partition's buffer as a sorted run of frames and frees it. */
  private async flushPartition(partition: number): Promise<void> {
    const arena = this.buffers[partition];
    if (arena.size === 0) return;
    this.buffers[partition] = new PartitionArena(arenaBlocks);
    this.totalBuffered -= this.bufferedBytes[partition];
    this.bufferedBytes[partition] = 0;
    const slot = this.frames.get(partition) ?? { rows: 0, rawBytes: 0, runs: 0, frames: [] };
    this.frames.set(partition, slot);
    const run = slot.runs++;
    const chunk = (this.frameBuffer ??= Buffer.allocUnsafe(this.maxFrameBytes));
    let used = 0;
    let rows = 0;
    const emit = async (raw: Buffer): Promise<void> => {
      const frame = compressFrame(raw, this.level);
      await this.handle.write(frame, 0, frame.length, this.dataOffset);
      slot.frames.push(toFrameTuple({ offset: this.dataOffset, length: frame.length, rows, rawLength: raw.length, checksum: checksumOf(frame), run }));
      slot.rows += rows;
      slot.rawBytes += raw.length;
      this.dataOffset += frame.length;
      this.maxFrameLength = Math.max(this.maxFrameLength, frame.length);
      this.maxFrameRawLength = Math.max(this.maxFrameRawLength, raw.length);
      this.stats.framesWritten++;
      this.stats.rawBytes += raw.length;
      this.stats.bytesWritten += frame.length;
      used = 0;
      rows = 0;
    };
    const append = async (bytes: Buffer): Promise<void> => {
      if (used > 0 && used + bytes.length > chunk.length) await emit(chunk.subarray(0, used));
      if (bytes.length > chunk.length) {
        rows = 1;
        await emit(bytes);
        return;
      }
      bytes.copy(chunk, used);
      used += bytes.length;
      rows++;
    };
    // A buffered entry that fits the frame is copied from its block without a view. Synchronous: a
    // promise per entry would cost more than the copy; the caller awaits only the frame it returns.
    const appendEntry = (i: number): Promise<void> | undefined => {
      const length = arena.lengthOf(i);
      if (length > chunk.length) return append(arena.bytesOf(i));
      if (used + length > chunk.length) return emit(chunk.subarray(0, used)).then(() => appendEntry(i));
      arena.copyInto(i, chunk, used);
      used += length;
      rows++;
      return undefined;
    };
    const order = arena.sortedOrder(this.hasSort);
    const combine = this.opts.combine;
    for (let i = 0; i < order.length; ) {
      let j = i + 1;
      if (combine) while (j < order.length && arena.sameKey(order[i], order[j])) j++;
      if (j === i + 1 || combine === keepFirst) {
        const full = appendEntry(order[i]);
        if (full) await full;
      } else {
        let acc = decodeEntryRecord<T>(arena.bytesOf(order[i]));
        for (let k = i + 1; k < j; k++) acc = combine!(acc, decodeEntryRecord<T>(arena.bytesOf(order[k])));
        const sort = this.opts.sortBy ? (this.opts.sortBy(acc) as ShuffleKey) : undefined;
        await append(encodeEntry(arena.keyOf(order[i]), sort, acc, this.hasSort));
      }
      i = j;
    }
    if (used > 0) await emit(chunk.subarray(0, used));
    // Every entry is in the file now, and nothing holds a view of the blocks: the next arenas take them.
    arenaBlocks.giveBack(arena.blocks);
    this.stats.reusedBlocks += arena.reusedBlocks;
  }

  /** This writer takes no more blocks: the thread's pool may let its free blocks go once no writer is open. */
  private releasePool(): void {
    if (!this.poolHeld) return;
    this.poolHeld = false;
    arenaBlocks.close();
  }

  /** Flushes everything, publishes the data file and writes the sidecar (the commit point). */
  async commit(): Promise<MapOutput> {
    if (this.state !== "open") throw new ShuffleConfigError(`ScatterWriter for map task ${this.mapTask} is ${this.state}`, "commit each writer once");
    try {
      for (let p = 0; p < this.buffers.length; p++) await this.flushPartition(p);
      this.releasePool();
      if (this.local && this.opts.syncData !== false) await this.handle.sync();
      await this.handle.close();
      const dataPath = joinPath(this.opts.outputDir, this.dataFileName);
      if (!this.local) {
        await localFileSystem.copy(this.localDataPath, dataPath, fileSystemFor(dataPath));
        await fsp.rm(this.localDataPath, { force: true });
      }
      const body: SidecarBody = {
        format: SIDECAR_FORMAT,
        codec: codecFor(this.level),
        mapTask: this.mapTask,
        attempt: this.attempt,
        dataFile: this.dataFileName,
        dataBytes: this.dataOffset,
        numPartitions: this.opts.numPartitions,
        hasSortKey: this.hasSort,
        rows: [...this.frames.values()].reduce((sum, part) => sum + part.rows, 0),
        maxFrameLength: this.maxFrameLength,
        maxFrameRawLength: this.maxFrameRawLength,
        partitions: Object.fromEntries([...this.frames].sort((a, b) => a[0] - b[0]).map(([p, v]) => [String(p), v])),
      };
      const sidecarPath = sidecarPathFor(this.opts.outputDir, this.mapTask);
      await fileSystemFor(sidecarPath).writeAtomic(sidecarPath, serializeSidecar(body));
      this.state = "committed";
      return { sidecarPath, dataPath, body };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Drops this attempt: closes and removes its data file; nothing was committed. */
  async abort(): Promise<void> {
    if (this.state === "committed") return;
    this.state = "aborted";
    this.releasePool();
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.localDataPath, { force: true });
    if (!this.local) {
      await fileSystemFor(this.opts.outputDir).delete(joinPath(this.opts.outputDir, this.dataFileName)).catch(() => undefined);
    }
  }
}
