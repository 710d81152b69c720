/**
 * How a parquet file's row groups are read: which columns each hyparquet read decodes, and the
 * byte ranges read ahead for them while the current group is consumed. hyparquet fetches the chunks
 * of one read's columns as few byte ranges and copies each chunk out of its range into new memory;
 * on this machine, where fresh memory is faulted in at about 12 µs a page, that copy cost about a
 * tenth of reading text. A column of OWN_READ_BYTES or more is therefore decoded by a read of its
 * own, which is handed its range's buffer as it is; smaller columns share one read, since each
 * hyparquet read costs time in proportion to the file's schema and row groups (300 columns read one
 * per read: nine times the CPU of one read). `PrefetchingBuffer` starts the next group's reads early
 * and serves hyparquet's slices from them: a slice that is exactly one of those ranges gets that
 * read's buffer, one inside a range a copy, any other goes to the file.
 */
import type { AsyncBuffer, RowGroup } from "hyparquet";

export interface ByteRange {
  start: number;
  end: number;
}

/** A top-level column's bytes in a row group: [start, end) over its column chunks (a struct has several). */
export interface ColumnRange extends ByteRange {
  column: string;
}

/** Where the wanted columns of `group` lie in the file, in the order of their first chunk. */
export function columnByteRanges(group: RowGroup, wanted: ReadonlySet<string>): ColumnRange[] {
  const ranges = new Map<string, ColumnRange>();
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    const column = meta?.path_in_schema[0];
    if (!meta || column === undefined || !wanted.has(column)) continue;
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const end = start + Number(meta.total_compressed_size);
    const range = ranges.get(column);
    if (range) {
      range.start = Math.min(range.start, start);
      range.end = Math.max(range.end, end);
    } else {
      ranges.set(column, { column, start, end });
    }
  }
  return [...ranges.values()];
}

/** Columns at least this large in a row group (compressed) are decoded by a hyparquet read of their own. */
export const OWN_READ_BYTES = 64 * 1024;
/** Ranges this close are read ahead as one, as hyparquet joins the chunks of one read across gaps of up to 8 KiB. */
const JOINED_GAP_BYTES = 8 * 1024;

/** A row group's reads: the wanted columns it holds (file order), the columns of each hyparquet read, and the ranges to read ahead. */
export interface GroupReads {
  columns: string[];
  reads: string[][];
  ranges: ByteRange[];
}

/** `oneRead`: every column in one read (a read with a row filter), read ahead as one range over them all. */
export function groupReads(group: RowGroup, wanted: ReadonlySet<string>, oneRead = false): GroupReads {
  const all = columnByteRanges(group, wanted);
  const ownRead = (r: ColumnRange) => !oneRead && r.end - r.start >= OWN_READ_BYTES;
  const own = all.filter(ownRead);
  const shared = all.filter((r) => !ownRead(r));
  const joined: ByteRange[] = [];
  for (const { start, end } of shared.sort((a, b) => a.start - b.start)) {
    const last = joined[joined.length - 1];
    if (last && (oneRead || start <= last.end + JOINED_GAP_BYTES)) last.end = Math.max(last.end, end);
    else joined.push({ start, end });
  }
  return {
    columns: all.map((r) => r.column),
    reads: [...own.map((r) => [r.column]), ...(shared.length > 0 ? [shared.map((r) => r.column)] : [])],
    ranges: [...own.map(({ start, end }) => ({ start, end })), ...joined],
  };
}

interface Ahead extends ByteRange {
  bytes: Promise<ArrayBuffer>;
}

export class PrefetchingBuffer implements AsyncBuffer {
  private ahead: Ahead[] = [];

  constructor(private readonly file: AsyncBuffer) {}

  get byteLength(): number {
    return this.file.byteLength;
  }

  /** Starts reading each range (replacing the ranges read ahead before); a failure surfaces when a slice inside it is asked for. */
  prefetch(ranges: readonly ByteRange[]): void {
    this.ahead = ranges.map(({ start, end }) => {
      const bytes = Promise.resolve(this.file.slice(start, end));
      bytes.catch(() => undefined); // awaited by slice; a read nobody asks for must not be unhandled
      return { start, end, bytes };
    });
  }

  async slice(start: number, end: number = this.file.byteLength): Promise<ArrayBuffer> {
    const ahead = this.ahead.find((a) => start >= a.start && end <= a.end);
    if (!ahead) return this.file.slice(start, end);
    const bytes = await ahead.bytes;
    return start === ahead.start && end === ahead.end ? bytes : bytes.slice(start - ahead.start, end - ahead.start);
  }
}
