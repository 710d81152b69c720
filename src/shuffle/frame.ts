/**
 * The frame codec. Inside a frame every entry is one msgpack array `[key, record]` (or
 * `[key, sortKey, record]` when the shuffle has a secondary sort) and entries are concatenated. A
 * frame bound for remote storage is then one zstd frame with zstd's content checksum on (codec
 * `zstd+msgpack`); a frame on local disk is stored as it is (codec `msgpack`). The sidecar keeps, per
 * frame, its byte range, row count, uncompressed length and an XXH64 of the bytes as stored, so a
 * reader can size its buffers and detect damage before it decodes (XXH64 rather than XXH3:
 * @node-rs/xxhash runs XXH64 at about 14 GB/s here and XXH3 at about 2.3). msgpackr was chosen by
 * measurement (see benchmarks/shuffle-codec.bench.ts): 2-3x faster than v8.serialize and JSON lines
 * on documents and small aggregates, and the smallest encoding before compression.
 */
import { Packr, RESET_BUFFER_MODE } from "msgpackr";
import { compress, decompress } from "zstd-napi";
import { xxh64 } from "../util/xxhash.ts";
import { ShuffleConfigError, ShuffleCorruptError } from "./errors.ts";
import type { ShuffleKey } from "./key.ts";
import { decodeMsgpack, FrameEntry, readKey, skipValue, type FrameBytes, type ScanCursor } from "./frame-entry.ts";

/** One record as it travels through the shuffle, with its key and (optional) secondary sort key. */
export interface ShuffleEntry<T> {
  key: ShuffleKey;
  sort: ShuffleKey | undefined;
  record: T;
}

/** Where a frame lies in a data file and what it holds (stored in the sidecar). */
export interface FrameRef {
  offset: number;
  length: number;
  rows: number;
  rawLength: number;
  /** XXH64 of the bytes as stored (compressed or not), as 16 hex digits. */
  checksum: string;
  /** Which sorted run of its map task and partition the frame belongs to (frames of a run are consecutive). */
  run?: number;
}

/** How a data file's frames are stored: zstd-compressed, or the encoded entries as they are. */
export type FrameCodec = "zstd+msgpack" | "msgpack";
export const FRAME_CODECS: readonly FrameCodec[] = ["zstd+msgpack", "msgpack"];

/** A zstd level, or `"none"`: frames stored uncompressed. */
export type FrameLevel = number | "none";

/** The codec of frames written at `level`. */
export function codecFor(level: FrameLevel): FrameCodec {
  return level === "none" ? "msgpack" : "zstd+msgpack";
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** The msgpack array one entry is written as. */
function entryTuple(key: ShuffleKey, sort: ShuffleKey | undefined, record: unknown, hasSort: boolean): unknown[] {
  return hasSort ? [key, sort, record] : [key, record];
}

/** Encodes one entry; its length is the entry's measured size. */
export function encodeEntry(key: ShuffleKey, sort: ShuffleKey | undefined, record: unknown, hasSort: boolean): Buffer {
  return packr.pack(entryTuple(key, sort, record, hasSort));
}

/**
 * Encodes one entry into msgpackr's scratch buffer: the view is valid only until the next encode on
 * this thread, so the caller copies it at once.
 */
export function encodeEntryView(key: ShuffleKey, sort: ShuffleKey | undefined, record: unknown, hasSort: boolean): Buffer {
  return packr.pack(entryTuple(key, sort, record, hasSort), RESET_BUFFER_MODE);
}

/** Decodes the record of one encoded entry (used when a combiner must see it). */
export function decodeEntryRecord<T>(bytes: Buffer): T {
  const tuple = decodeMsgpack(bytes) as unknown[];
  return tuple[tuple.length - 1] as T;
}

/** The checksum of a frame's compressed bytes, and of a sidecar's body. */
export function checksumOf(bytes: Uint8Array): string {
  return xxh64(bytes).toString(16).padStart(16, "0");
}

/**
 * How frames are written: on local disk (map outputs in a local folder, the reducer's spill runs)
 * they are stored uncompressed, because local bytes are cheap and zstd's fastest level still cost the
 * 2 GB deduplicate benchmark time for frames only 0.93 of their raw size (DESIGN.md, shuffle).
 * Frames bound for remote storage (gs://) are zstd level 1 (about 340 MB/s, 2.7 times smaller):
 * their bytes cross the network. `KILN_SHUFFLE_ZSTD_LEVEL` sets one level for both: a zstd level,
 * e.g. 1 where local disk is short, or `none`.
 */
export const LOCAL_FRAME_LEVEL: FrameLevel = "none";
export const REMOTE_FRAME_LEVEL: FrameLevel = 1;
export const FRAME_LEVEL_VARIABLE = "KILN_SHUFFLE_ZSTD_LEVEL";

/** The level for frames written to local disk (`local`) or to remote storage. */
export function frameLevel(local: boolean): FrameLevel {
  const set = process.env[FRAME_LEVEL_VARIABLE];
  if (set === undefined || set === "") return local ? LOCAL_FRAME_LEVEL : REMOTE_FRAME_LEVEL;
  if (set === "none") return "none";
  const level = Number(set);
  if (!Number.isInteger(level) || level < -131072 || level > 22) {
    throw new ShuffleConfigError(
      `${FRAME_LEVEL_VARIABLE}=${JSON.stringify(set)} is not a zstd level`,
      "set an integer from -131072 (fastest) to 22 (smallest), none to store frames uncompressed, or unset it for kiln's choice",
    );
  }
  return level;
}

/** Turns concatenated encoded entries into one frame: zstd at `level`, or the bytes themselves. */
export function compressFrame(raw: Buffer, level: FrameLevel): Buffer {
  return level === "none" ? raw : compress(raw, { compressionLevel: level, checksumFlag: true });
}

/** The encoded entries of one frame read back, still to be decoded. */
function expandFrame(file: string, bytes: Buffer, ref: FrameRef, codec: FrameCodec): Buffer {
  if (codec === "msgpack") return bytes;
  try {
    return decompress(bytes);
  } catch (err) {
    throw new ShuffleCorruptError(file, ref.offset, `zstd cannot decompress the frame (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Verifies one frame read from `file` (stored with `codec`) and yields its entries, `sliceRows` at a
 * time, each with its key and sort key decoded and its record left as bytes until it is read
 * (frame-entry.ts), so a merge over many runs holds frames as bytes, not as decoded records.
 * Any mismatch (short read, checksum, zstd error, length, row count, entry shape) throws
 * ShuffleCorruptError naming the file and the byte offset; the checksum and length are checked before
 * the first entry is yielded, the row count when the frame ends, a record's own bytes when it is read.
 */
export const SLICE_ROWS = 256;

export function* decodeFrameSlices<T>(file: string, bytes: Buffer, ref: FrameRef, codec: FrameCodec, hasSort: boolean, sliceRows = SLICE_ROWS): Generator<ShuffleEntry<T>[]> {
  if (bytes.length !== ref.length) {
    throw new ShuffleCorruptError(
      file,
      ref.offset + bytes.length,
      `truncated frame: expected ${ref.length} bytes from offset ${ref.offset}, file ends after ${bytes.length}`,
    );
  }
  const sum = checksumOf(bytes);
  if (sum !== ref.checksum) {
    throw new ShuffleCorruptError(file, ref.offset, `frame checksum ${sum} does not match sidecar ${ref.checksum}`);
  }
  const raw = expandFrame(file, bytes, ref, codec);
  if (raw.length !== ref.rawLength) {
    throw new ShuffleCorruptError(file, ref.offset, `frame holds ${raw.length} bytes of entries, sidecar says ${ref.rawLength}`);
  }
  const frame: FrameBytes = { file, offset: ref.offset, raw };
  const tuple = 0x90 + (hasSort ? 3 : 2); // msgpack fixarray of the entry's width
  const at: ScanCursor = { pos: 0 };
  const end = raw.length;
  let decoded = 0;
  while (at.pos < end) {
    const slice: FrameEntry<T>[] = [];
    while (at.pos < end && slice.length < sliceRows) {
      const start = at.pos;
      if (raw[start] !== tuple) {
        throw new ShuffleCorruptError(file, ref.offset, `entry ${decoded + slice.length} of the frame (byte ${start}) is not a ${hasSort ? 3 : 2}-tuple`);
      }
      at.pos++;
      const key = readKey(raw, at, end);
      const sort = hasSort && at.pos >= 0 ? readKey(raw, at, end) : undefined;
      const recordStart = at.pos;
      const stop = recordStart < 0 ? -1 : skipValue(raw, recordStart, end);
      if (key === undefined || stop < 0) throw new ShuffleCorruptError(file, ref.offset, `undecodable entries at byte ${start} of the frame`);
      slice.push(new FrameEntry<T>(key, sort, frame, start, recordStart, stop));
      at.pos = stop;
    }
    decoded += slice.length;
    if (decoded > ref.rows) break;
    yield slice;
  }
  if (decoded !== ref.rows) {
    throw new ShuffleCorruptError(file, ref.offset, `frame holds ${decoded > ref.rows ? "more than " : ""}${decoded} rows, sidecar says ${ref.rows}`);
  }
}

/** Verifies and decodes a whole frame (see decodeFrameSlices). */
export function decodeFrame<T>(file: string, bytes: Buffer, ref: FrameRef, codec: FrameCodec, hasSort: boolean): ShuffleEntry<T>[] {
  const out: ShuffleEntry<T>[] = [];
  for (const slice of decodeFrameSlices<T>(file, bytes, ref, codec, hasSort, Number.MAX_SAFE_INTEGER)) for (const e of slice) out.push(e);
  return out;
}
