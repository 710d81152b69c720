/** `filter`: keeps rows for which the user function (or a `where` predicate) holds. */
import type { AnyFunction } from "../fn.ts";
import { evaluateWhere } from "../logical.ts";
import type { Where } from "../logical.ts";
import type { ChainEnv, RowOperator } from "./runtime.ts";
import { userError } from "./runtime.ts";

export function filterOperator(predicate: AnyFunction | Where, label: string, env: ChainEnv): RowOperator {
  const ctx = env.ctx;
  const f = typeof predicate === "function" ? predicate : (row: unknown) => evaluateWhere(predicate, row);
  return (next) => ({
    push(row) {
      let keep: unknown;
      try {
        keep = f(row, ctx);
      } catch (err) {
        throw userError(env, label, err);
      }
      if (keep) next.push(row);
    },
    flush: () => next.flush(),
  });
}
