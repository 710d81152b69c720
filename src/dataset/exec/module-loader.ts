/**
 * How this thread imports a module by URL at run time (function modules, the lazily loaded formats
 * layer). Normally a plain dynamic import, which tsx serves for TypeScript; in a pool worker started
 * from the precompiled engine (worker-bundle.ts), modules inside the bundle are answered from it and
 * only the others are imported, TypeScript ones through tsx.
 */
let bundled: ReadonlyMap<string, Record<string, unknown>> = new Map();
let importOther: (url: string) => Promise<Record<string, unknown>> = (url) => import(url);

/** Called once by a worker started from the bundle: its modules by file URL, and the importer for the others. */
export function useBundledModules(modulesByUrl: ReadonlyMap<string, Record<string, unknown>>, importer: (url: string) => Promise<Record<string, unknown>>): void {
  bundled = modulesByUrl;
  importOther = importer;
}

/**
 * The module at `url` (a file URL without loader query), from the bundle when it holds it. `T` is
 * what the caller knows the module exports (unchecked, as with any dynamic import).
 */
export function loadModule<T = Record<string, unknown>>(url: string): Promise<T> {
  const ready = bundled.get(url);
  const loading: Promise<any> = ready ? Promise.resolve(ready) : importOther(url);
  return loading;
}
