/**
 * Reading a parquet file's next row group while the current one is consumed. The reader decodes a
 * row group at once and then hands its rows on; without this, the file's next bytes were requested
 * only when the last row had been taken, and the thread waited for them. `PrefetchingBuffer` starts
 * one read of the next group's wanted column chunks early and serves hyparquet's slices inside that
 * range from it; any other slice goes to the file. One group's compressed bytes are held ahead.
 */
import type { AsyncBuffer, RowGroup } from "hyparquet";

/** Where the wanted column chunks of `group` lie in the file, [start, end); undefined when none is wanted. */
export function groupByteRange(group: RowGroup, wanted: ReadonlySet<string>): [number, number] | undefined {
  let start = Infinity;
  let end = -Infinity;
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta || !wanted.has(meta.path_in_schema[0])) continue;
    const from = Number(meta.dictionary_page_offset || meta.data_page_offset);
    start = Math.min(start, from);
    end = Math.max(end, from + Number(meta.total_compressed_size));
  }
  return end > start ? [start, end] : undefined;
}

export class PrefetchingBuffer implements AsyncBuffer {
  private ahead: { start: number; end: number; bytes: Promise<ArrayBuffer> } | undefined;

  constructor(private readonly file: AsyncBuffer) {}

  get byteLength(): number {
    return this.file.byteLength;
  }

  /** Starts reading [start, end); a failure surfaces when a slice inside it is asked for. */
  prefetch(start: number, end: number): void {
    const bytes = Promise.resolve(this.file.slice(start, end));
    bytes.catch(() => undefined); // awaited by slice; a read nobody asks for must not be unhandled
    this.ahead = { start, end, bytes };
  }

  async slice(start: number, end: number = this.file.byteLength): Promise<ArrayBuffer> {
    const ahead = this.ahead;
    if (!ahead || start < ahead.start || end > ahead.end) return this.file.slice(start, end);
    const bytes = await ahead.bytes;
    return start === ahead.start && end === ahead.end ? bytes : bytes.slice(start - ahead.start, end - ahead.start);
  }
}
