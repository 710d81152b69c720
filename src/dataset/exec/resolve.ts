/**
 * Turns a plan's function slots into callables. A reference is resolved by importing its module
 * (cached per process or worker) and taking the export; with `args` the export is a factory that
 * is called once with them (and awaited when it returns a promise). A closure placeholder resolves only where the closures were handed in,
 * which is the inline executor.
 */
import { FunctionResolveError, PlanNotPortableError } from "../errors.ts";
import type { AnyFunction } from "../fn.ts";
import type { Resolver } from "../row/runtime.ts";
import { loadModule } from "./module-loader.ts";

export type { Resolver };

const modules = new Map<string, Promise<Record<string, unknown>>>();

/**
 * A module URL as any thread can import it. A module loaded through tsx's `tsImport` (in a worker
 * thread: a pool thread, or a kiln worker's step thread) has `?tsx-namespace=<id>` in its
 * import.meta.url, which only that thread's loader serves; without it, this thread's loader does.
 */
export function withoutLoaderNamespace(moduleUrl: string): string {
  if (!moduleUrl.startsWith("file:") || !moduleUrl.includes("tsx-namespace=")) return moduleUrl;
  const url = new URL(moduleUrl);
  url.searchParams.delete("tsx-namespace");
  return url.href;
}

export function createResolver(closures?: ReadonlyMap<string, AnyFunction>): Resolver {
  return async (spec, label) => {
    if (spec.kind === "closure") {
      const f = closures?.get(spec.label);
      if (!f) {
        throw new PlanNotPortableError(
          `${label} is a closure, which only the inline executor can run`,
          "export the function from a module and pass fn(import.meta.url, myFunction)",
        );
      }
      return f;
    }
    let loading = modules.get(spec.module);
    if (!loading) {
      loading = loadModule(withoutLoaderNamespace(spec.module));
      modules.set(spec.module, loading);
    }
    let mod: Record<string, unknown>;
    try {
      mod = await loading;
    } catch (err) {
      modules.delete(spec.module);
      throw new FunctionResolveError(
        `${label}: cannot import ${spec.module}: ${err instanceof Error ? err.message : String(err)}`,
        "check that the module URL (import.meta.url) points at a module that loads on its own",
        { cause: err },
      );
    }
    const exported = mod[spec.export];
    if (typeof exported !== "function") {
      throw new FunctionResolveError(
        `${label}: ${spec.module} has no exported function '${spec.export}'`,
        "export the function at module level under that name",
      );
    }
    if (spec.args === undefined) return exported as AnyFunction;
    // A factory may be async (to load a model, say): its promise is awaited once per task.
    const made: unknown = await (exported as AnyFunction)(spec.args);
    if (typeof made !== "function") {
      throw new FunctionResolveError(
        `${label}: factory '${spec.export}' returned ${typeof made}, not a function`,
        "with args, the export must be a factory: (args) => (row, ctx) => ...",
      );
    }
    return made as AnyFunction;
  };
}
