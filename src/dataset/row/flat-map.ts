/** `flatMap`: any number of output rows per input row, from an iterable the user function returns. */
import type { AnyFunction } from "../fn.ts";
import type { ChainEnv, RowOperator } from "./runtime.ts";
import { userError } from "./runtime.ts";

export function flatMapOperator(f: AnyFunction, label: string, env: ChainEnv): RowOperator {
  const ctx = env.ctx;
  return (next) => ({
    push(row) {
      let it: Iterator<unknown>;
      try {
        const out = f(row, ctx) as Iterable<unknown> | null | undefined;
        if (out == null || typeof out[Symbol.iterator] !== "function") throw new Error(`returned ${out === null ? "null" : typeof out}, not an iterable`);
        it = out[Symbol.iterator]();
      } catch (err) {
        throw userError(env, label, err);
      }
      for (;;) {
        let step: IteratorResult<unknown>;
        try {
          step = it.next();
        } catch (err) {
          throw userError(env, label, err);
        }
        if (step.done) break;
        next.push(step.value);
      }
    },
    flush: () => next.flush(),
  });
}
