/**
 * User functions as data. An operator never holds a function value that has to cross a thread or
 * a machine: it holds a reference `{ module, export, args }` that a worker resolves by importing
 * the module. Calling convention (the same for every executor):
 *  - without `args`, the export itself is the operator's function;
 *  - with `args`, the export is a factory, called once per task as `factory(args)`, that returns
 *    the operator's function (so configuration stays JSON and the function stays module-level).
 * The operator's function always gets a {@link UserContext} as its last argument, which carries
 * the shard index and count, the attempt, and user counters (`ctx.counters.increment(name, n)`).
 * A plain closure is also accepted when building a Dataset; only the inline executor runs it.
 */
import { DatasetPlanError } from "./errors.ts";
import type { RecordPosition } from "./errors.ts";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What every user function sees as its last argument. */
export interface UserContext {
  readonly shard: number;
  readonly shardCount: number;
  readonly attempt: number;
  /** Counters summed over tasks and stages into the execution's result (and a step's info.json). */
  readonly counters: { increment(name: string, by?: number): void };
  /** The input file (or other source) and 1-based line or row of the record being processed, when known. */
  position(): RecordPosition | undefined;
}

export type AnyFunction = (...args: any[]) => any;

/** A reference to a module-level function. `F` is a phantom carrying the function's type. */
export interface FnRef<F = AnyFunction> {
  readonly kind: "kiln.fn";
  /** Module URL, normally `import.meta.url` of the module that exports the function. */
  readonly module: string;
  readonly export: string;
  /** When present, `export` is a factory called with these arguments. */
  readonly args?: JsonValue;
  readonly __fn?: F;
}

/** A user function slot: a reference, or (inline executor only) a closure. */
export type Fn<F extends AnyFunction> = F | FnRef<F>;

/** How a plan stores a user function: a reference, or a placeholder for a closure. */
export type FnSpec = { kind: "kiln.fn"; module: string; export: string; args?: JsonValue } | { kind: "closure"; label: string };

/** Reference to `exported` in the module at `moduleUrl`: `fn(import.meta.url, tokenize)`. */
export function fn<F extends AnyFunction>(moduleUrl: string, exported: F): FnRef<F>;
/** Reference to a factory: the worker calls `factory(args)` and uses the returned function. */
export function fn<A extends JsonValue, R extends AnyFunction>(
  moduleUrl: string,
  factory: (args: A) => R | Promise<R>,
  args: A,
): FnRef<R>;
/** Reference by export name; give the function type explicitly: `fn<typeof f>(url, "f")`. */
export function fn<F extends AnyFunction = AnyFunction>(moduleUrl: string, exportName: string, args?: JsonValue): FnRef<F>;
export function fn(moduleUrl: string, exported: AnyFunction | string, args?: JsonValue): FnRef {
  if (typeof moduleUrl !== "string" || !/^(file|https?|data):/.test(moduleUrl)) {
    throw new DatasetPlanError(
      `fn(): module ${JSON.stringify(moduleUrl)} is not a module URL`,
      "pass import.meta.url of the module that exports the function",
    );
  }
  const name = typeof exported === "string" ? exported : exported.name;
  if (!name || !/^[A-Za-z_$][\w$]*$/.test(name)) {
    throw new DatasetPlanError(
      `fn(): cannot tell the export name of ${typeof exported === "string" ? JSON.stringify(exported) : "an anonymous function"}`,
      "pass a named, exported module-level function, or its export name as a string",
    );
  }
  if (args !== undefined) assertJson(args, `fn(${name}) args`);
  const ref: FnRef = args === undefined ? { kind: "kiln.fn", module: moduleUrl, export: name } : { kind: "kiln.fn", module: moduleUrl, export: name, args };
  return ref;
}

export function isFnRef(value: unknown): value is FnRef {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "kiln.fn";
}

/** Module URLs of every function reference (`{kind: "kiln.fn", module}`) inside a JSON value. */
export function referencedModules(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedModules(v, into);
  } else if (value !== null && typeof value === "object") {
    if (isFnRef(value)) into.add(value.module);
    for (const v of Object.values(value)) referencedModules(v, into);
  }
  return into;
}

/** Throws when `value` would not survive a JSON round trip unchanged. */
export function assertJson(value: unknown, what: string, path = ""): void {
  const here = path || "(root)";
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new DatasetPlanError(`${what}: ${here} is ${value}`, "use finite numbers (JSON has no NaN/Infinity)");
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertJson(v, what, `${path}[${i}]`));
    return;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      assertJson(v, what, path ? `${path}.${k}` : k);
    }
    return;
  }
  throw new DatasetPlanError(
    `${what}: ${here} is a ${typeof value === "object" ? value?.constructor?.name ?? "object" : typeof value}, not JSON`,
    "plans hold only JSON data; pass plain objects, arrays, strings, numbers, booleans and null",
  );
}
