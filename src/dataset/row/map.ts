/** `map`: one output row per input row, from a synchronous user function. */
import type { AnyFunction } from "../fn.ts";
import type { ChainEnv, RowOperator } from "./runtime.ts";
import { userError } from "./runtime.ts";

export function mapOperator(f: AnyFunction, label: string, env: ChainEnv): RowOperator {
  const ctx = env.ctx;
  return (next) => ({
    push(row) {
      let out: unknown;
      try {
        out = f(row, ctx);
      } catch (err) {
        throw userError(env, label, err);
      }
      if (out instanceof Promise) throw userError(env, label, new Error("returned a Promise; row functions are synchronous (use mapShard for async work)"));
      next.push(out);
    },
    flush: () => next.flush(),
  });
}
