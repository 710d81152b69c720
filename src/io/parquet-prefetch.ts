/**
 * Reading a parquet file's next row group while the current one is consumed. The reader decodes a
 * row group at once and then hands its rows on; without this, the file's next bytes were requested
 * only when the last row had been taken, and the thread waited for them. `PrefetchingBuffer` starts
 * one read per wanted column of the next group early (`columnByteRanges`) and serves hyparquet's
 * slices from them: a slice that is exactly one of those ranges gets that read's buffer as it is,
 * one inside a range a copy, any other goes to the file. One group's compressed bytes are held ahead.
 */
import type { AsyncBuffer, RowGroup } from "hyparquet";

/** A top-level column's bytes in a row group: [start, end) over its column chunks (a struct has several). */
export interface ColumnRange {
  column: string;
  start: number;
  end: number;
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

interface Ahead {
  start: number;
  end: number;
  bytes: Promise<ArrayBuffer>;
}

export class PrefetchingBuffer implements AsyncBuffer {
  private ahead: Ahead[] = [];

  constructor(private readonly file: AsyncBuffer) {}

  get byteLength(): number {
    return this.file.byteLength;
  }

  /** Starts reading each range (replacing the ranges read ahead before); a failure surfaces when a slice inside it is asked for. */
  prefetch(ranges: readonly { start: number; end: number }[]): void {
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
