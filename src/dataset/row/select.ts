/** `select`: keeps only the named fields of each row (fields a row lacks stay absent). */
import type { ChainEnv, RowOperator } from "./runtime.ts";
import { userError } from "./runtime.ts";

export function selectOperator(columns: string[], label: string, env: ChainEnv): RowOperator {
  return (next) => ({
    push(row) {
      if (row === null || typeof row !== "object") throw userError(env, label, new Error(`row is ${row === null ? "null" : typeof row}, not an object`));
      const picked: Record<string, unknown> = {};
      for (const c of columns) if (c in row) picked[c] = (row as Record<string, unknown>)[c];
      next.push(picked);
    },
    flush: () => next.flush(),
  });
}
