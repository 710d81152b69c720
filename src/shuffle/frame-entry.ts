/**
 * Entries read from a frame without decoding their records. A reader scans each entry's msgpack
 * bytes: it decodes the key (and sort key), which the merge compares, and only steps over the
 * record, which stays as bytes in the frame's buffer until something reads `entry.record`. A merge
 * over many runs then holds frames as bytes outside the JavaScript heap instead of every run's
 * decoded records inside it, where each young collection copied them and many were promoted; a
 * duplicate that deduplicate drops is never decoded, and a spill writes an entry's bytes as read.
 */
import { Unpackr } from "msgpackr";
import { ShuffleCorruptError } from "./errors.ts";
import type { ShuffleKey } from "./key.ts";

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Decodes one msgpack value as the shuffle's frames encode them (see frame.ts). */
export function decodeMsgpack(bytes: Buffer): unknown {
  return unpackr.unpack(bytes);
}

/** A frame's entries as read (after checksum and expansion), with where they came from for errors. */
export interface FrameBytes {
  file: string;
  /** Byte offset of the frame in its file. */
  offset: number;
  raw: Buffer;
}

const UNDECODED: unique symbol = Symbol("undecoded");

/** One entry of a frame: key and sort key decoded, the record decoded on first use. */
export class FrameEntry<T> {
  private value: T | typeof UNDECODED = UNDECODED;

  constructor(
    readonly key: ShuffleKey,
    readonly sort: ShuffleKey | undefined,
    private readonly frame: FrameBytes,
    /** Where the entry's tuple starts, where its record starts, and where the entry ends in `frame.raw`. */
    private readonly start: number,
    private readonly recordStart: number,
    private readonly end: number,
  ) {}

  get record(): T {
    if (this.value === UNDECODED) this.value = this.decode();
    return this.value;
  }

  private decode(): T {
    const { file, offset, raw } = this.frame;
    try {
      return unpackr.unpack(raw.subarray(this.recordStart, this.end));
    } catch (err) {
      throw new ShuffleCorruptError(file, offset, `undecodable record at byte ${this.recordStart} of the frame (${(err as Error).message})`, { cause: err });
    }
  }

  /** The entry's encoding as written (tuple, key, sort key and record), for a spill to copy. */
  encoded(): Buffer {
    return this.frame.raw.subarray(this.start, this.end);
  }
}

/** Bytes of a msgpack header after its type byte, by type byte 0xc0–0xdf (-1: never valid). */
const HEADER_BYTES = [0, -1, 0, 0, 1, 2, 4, 2, 3, 5, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 3, 5, 9, 17, 1, 2, 4, 2, 4, 2, 4];

function lengthField(b: Buffer, at: number, bytes: number): number {
  return bytes === 1 ? b[at] : bytes === 2 ? b.readUInt16BE(at) : b.readUInt32BE(at);
}

/**
 * Where the msgpack value that starts at `pos` ends (exclusive), or -1 when the bytes are not
 * msgpack or run past `end`. Containers are walked by counting the values still to step over, so no
 * value is decoded and nesting costs no recursion.
 */
export function skipValue(b: Buffer, pos: number, end: number): number {
  let remaining = 1;
  while (remaining > 0) {
    if (pos >= end) return -1;
    const t = b[pos++];
    remaining--;
    if (t < 0x80 || t >= 0xe0) continue; // fixint
    if (t < 0x90) remaining += 2 * (t & 0x0f); // fixmap
    else if (t < 0xa0) remaining += t & 0x0f; // fixarray
    else if (t < 0xc0) pos += t & 0x1f; // fixstr
    else {
      const header = HEADER_BYTES[t - 0xc0];
      if (header < 0 || pos + header > end) return -1;
      if (t >= 0xdc) remaining += (t >= 0xde ? 2 : 1) * lengthField(b, pos, header); // array16/32, map16/32: a count
      else if (t >= 0xd9 || (t >= 0xc4 && t <= 0xc6)) pos += lengthField(b, pos, header); // str, bin: a byte length
      else if (t >= 0xc7 && t <= 0xc9) pos += lengthField(b, pos, header - 1); // ext: a byte length, then a type byte
      pos += header; // nil and booleans add nothing; numbers and fixext are their header
    }
  }
  return pos <= end ? pos : -1;
}

/** A read position in a frame; -1 once the bytes could not be read. */
export interface ScanCursor {
  pos: number;
}

/** Bytes of the msgpack str header at `at` (its type byte included), or 0 when no string starts there. */
export function stringHeaderBytes(b: Buffer, at: number): number {
  const t = b[at];
  if (t >= 0xa0 && t < 0xc0) return 1;
  return t === 0xd9 ? 2 : t === 0xda ? 3 : t === 0xdb ? 5 : 0;
}

/** UTF-8 bytes of the msgpack string whose header, of `header` bytes (stringHeaderBytes), starts at `at`. */
export function stringByteLength(b: Buffer, at: number, header: number): number {
  return header === 1 ? b[at] & 0x1f : header === 2 ? b[at + 1] : header === 3 ? b.readUInt16BE(at + 1) : b.readUInt32BE(at + 1);
}

/** Decodes the key (or sort key) at `at.pos` and moves past it (to -1 when the bytes are not a value). */
export function readKey(b: Buffer, at: ScanCursor, end: number): ShuffleKey | undefined {
  const pos = at.pos;
  const header = stringHeaderBytes(b, pos);
  if (header > 0 && pos + header <= end) {
    // A string, the usual key: read where it lies.
    const from = pos + header;
    const stop = from + stringByteLength(b, pos, header);
    at.pos = stop <= end ? stop : -1;
    return at.pos < 0 ? undefined : b.toString("utf8", from, at.pos);
  }
  const t = b[pos];
  if (t < 0x80) {
    at.pos = pos + 1;
    return t;
  }
  at.pos = skipValue(b, pos, end);
  return at.pos < 0 ? undefined : unpackr.unpack(b.subarray(pos, at.pos));
}
