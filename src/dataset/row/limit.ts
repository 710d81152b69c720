/** The limit of `take(n)`: passes the first `n` rows, then stops the segment's input early. */
import type { RowOperator } from "./runtime.ts";

export function limitOperator(n: number): RowOperator {
  return (next, state) => {
    let seen = 0;
    if (n === 0) state.stopped = true;
    return {
      push(row) {
        if (seen >= n) return;
        seen++;
        next.push(row);
        if (seen >= n) state.stopped = true;
      },
      flush: () => next.flush(),
    };
  };
}
