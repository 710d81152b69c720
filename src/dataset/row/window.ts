/** `window`: groups consecutive rows of a shard into arrays of `size`; the last may be shorter. */
import type { RowOperator } from "./runtime.ts";

export function windowOperator(size: number): RowOperator {
  return (next) => {
    let buffer: unknown[] = [];
    return {
      push(row) {
        buffer.push(row);
        if (buffer.length === size) {
          const full = buffer;
          buffer = [];
          next.push(full);
        }
      },
      flush() {
        if (buffer.length) next.push(buffer);
        buffer = [];
        next.flush();
      },
    };
  };
}
