/**
 * Canonical JSON: one byte-exact text for one value, so that hashes of configs are stable across
 * runs, machines and key orders. Object keys are sorted; Maps with string keys are written as
 * objects; values that JSON cannot carry faithfully (functions, symbols, bigints, NaN/Infinity,
 * undefined inside arrays, class instances without toJSON, non-string Map keys, cycles) are refused
 * with an error that names the dotted path of the offending value.
 */
import { KilnError } from "../errors.ts";

export class CanonicalJsonError extends KilnError {
  readonly path: string;
  constructor(path: string, what: string) {
    super(
      "KILN_CANONICAL_JSON",
      `cannot hash ${what} at '${path || "<root>"}'`,
      "step configs and results must be plain JSON data: strings, finite numbers, booleans, null, arrays and plain objects",
    );
    this.path = path;
  }
}

function child(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Converts a value to plain JSON data (sorted keys), or throws CanonicalJsonError. */
export function toCanonicalValue(value: unknown, path = "", seen: Set<object> = new Set()): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `non-finite number ${value}`);
      return Object.is(value, -0) ? 0 : value;
    case "undefined":
      throw new CanonicalJsonError(path, "undefined");
    case "function":
      throw new CanonicalJsonError(path, `a function (${(value as Function).name || "anonymous"})`);
    case "symbol":
      throw new CanonicalJsonError(path, `a symbol (${String(value)})`);
    case "bigint":
      throw new CanonicalJsonError(path, "a bigint (convert it to a string)");
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) throw new CanonicalJsonError(path, "a reference cycle");
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return obj.map((item, i) => {
        if (item === undefined) throw new CanonicalJsonError(child(path, i), "undefined inside an array");
        return toCanonicalValue(item, child(path, i), seen);
      });
    }
    if (obj instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of obj) {
        if (typeof k !== "string") throw new CanonicalJsonError(child(path, String(k)), `a Map key of type ${typeof k}`);
      }
      for (const k of [...obj.keys()].sort()) out[k] = toCanonicalValue(obj.get(k), child(path, k), seen);
      return out;
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return toCanonicalValue(toJSON.call(obj), path, seen);
    if (!isPlainObject(obj)) {
      throw new CanonicalJsonError(path, `an instance of ${obj.constructor?.name ?? "a class"} without toJSON`);
    }
    const out: Record<string, unknown> = {};
    const record = obj as Record<string, unknown>;
    for (const k of Object.keys(record).sort()) {
      if (record[k] === undefined) continue; // absent and undefined mean the same in an object
      out[k] = toCanonicalValue(record[k], child(path, k), seen);
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

/** The canonical JSON text of a value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(toCanonicalValue(value));
}
