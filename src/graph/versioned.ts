/**
 * `versioned(value)`: marks the parts of a step's config that define what the step computes, and so
 * enter its version hash. Everything else in the config (thread counts, log levels, paths to
 * scratch space) can change without invalidating cached outputs. `Unversioned<C>` is the config
 * type a step's `run` sees, with every marker unwrapped.
 */
const VERSIONED = Symbol.for("kiln.versioned");

export interface Versioned<T> {
  readonly [VERSIONED]: true;
  readonly value: T;
}

export function versioned<const T>(value: T): Versioned<T> {
  return Object.freeze({ [VERSIONED]: true as const, value });
}

export function isVersioned(v: unknown): v is Versioned<unknown> {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[VERSIONED] === true;
}

type Primitive = string | number | boolean | null | undefined | bigint | symbol;

/** The config type with every `versioned(...)` wrapper replaced by its value. */
export type Unversioned<C> = C extends Versioned<infer V>
  ? Unversioned<V>
  : C extends Primitive | ((...args: never[]) => unknown)
    ? C
    : C extends readonly (infer E)[]
      ? Unversioned<E>[]
      : { [K in keyof C]: Unversioned<C[K]> };

function dotted(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Splits a config into its run-time value (markers unwrapped) and the versioned values by dotted
 * path. A versioned value nested in another versioned value is part of the outer one.
 */
export function splitConfig<C>(config: C): { resolved: Unversioned<C>; versionedByPath: Record<string, unknown> } {
  const versionedByPath: Record<string, unknown> = {};
  const unwrap = (v: unknown, path: string, record: boolean): unknown => {
    if (isVersioned(v)) {
      const inner = unwrap(v.value, path, false);
      if (record) versionedByPath[path || "<root>"] = inner;
      return inner;
    }
    if (Array.isArray(v)) return v.map((item, i) => unwrap(item, dotted(path, i), record));
    if (v && typeof v === "object" && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = unwrap(item, dotted(path, k), record);
      return out;
    }
    return v;
  };
  const resolved = unwrap(config, "", true) as Unversioned<C>;
  return { resolved, versionedByPath };
}
