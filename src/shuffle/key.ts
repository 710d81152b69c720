/**
 * Shuffle keys: their canonical byte encoding (what is hashed), the partition policy
 * (xxh3-64 of the canonical bytes mod N; integer keys in [0, N) pass straight through), and the total
 * order used for sorting frames and merging them. The order is: null < false < true < numbers
 * (numeric) < strings (by UTF-16 code units, as JS `<`) < arrays (element-wise, then shorter first)
 * < plain objects (compared as their key-sorted [name, value] lists). -0 is the same key as 0.
 */
import { xxh3 } from "../util/xxhash.ts";
import { ShuffleKeyError } from "./errors.ts";

export type ShuffleKey = null | boolean | number | string | ShuffleKey[] | { [field: string]: ShuffleKey };

const TAG_NULL = 0;
const TAG_FALSE = 1;
const TAG_TRUE = 2;
const TAG_NUMBER = 3;
const TAG_STRING = 4;
const TAG_ARRAY = 5;
const TAG_OBJECT = 6;

/** Growable scratch buffer reused across calls (keys are encoded once per record). */
class ByteSink {
  buf = Buffer.allocUnsafe(256);
  pos = 0;
  /** The last view `written` made: keys of one length (ids) share it until the buffer grows. */
  private view = this.buf.subarray(0, 0);
  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = next.subarray(0, 0);
  }
  /** The bytes written so far (a view, valid until the next write). */
  written(): Buffer {
    if (this.view.length !== this.pos) this.view = this.buf.subarray(0, this.pos);
    return this.view;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  u32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(n, this.pos);
    this.pos += 4;
  }
  f64(n: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }
  str(s: string): void {
    this.ensure(5 + s.length * 3);
    this.buf[this.pos] = TAG_STRING;
    const n = this.buf.write(s, this.pos + 5, "utf8");
    this.buf.writeUInt32BE(n, this.pos + 1);
    this.pos += 5 + n;
  }
}

const sink = new ByteSink();

function describeKey(key: unknown): string {
  if (typeof key === "function") return `function ${key.name || "(anonymous)"}`;
  if (typeof key === "symbol" || typeof key === "bigint") return `${typeof key} ${String(key)}`;
  if (key === undefined) return "undefined";
  if (typeof key === "number") return String(key);
  try {
    const text = JSON.stringify(key, (_k, v) => (v === undefined ? "<undefined>" : typeof v === "bigint" ? `${v}n` : v));
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return Object.prototype.toString.call(key);
  }
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Why a value is not a key, and where in it (path segments filled in as the encoder unwinds). */
class KeyFault {
  readonly path: string[] = [];
  constructor(readonly reason: string) {}
}

/** Encodes `value` into the sink, or throws a KeyFault; builds no path text unless a value fails. */
function encodeInto(value: unknown, depth: number): void {
  switch (typeof value) {
    case "string":
      sink.str(value);
      return;
    case "number":
      if (!Number.isFinite(value)) throw new KeyFault(`non-finite number ${value}`);
      sink.byte(TAG_NUMBER);
      sink.f64(value === 0 ? 0 : value);
      return;
    case "boolean":
      sink.byte(value ? TAG_TRUE : TAG_FALSE);
      return;
    case "object":
      break;
    default:
      throw new KeyFault(`${describeKey(value)} is not a key value`);
  }
  if (value === null) {
    sink.byte(TAG_NULL);
    return;
  }
  if (depth > 32) throw new KeyFault("nested deeper than 32 levels");
  if (Array.isArray(value)) {
    sink.byte(TAG_ARRAY);
    sink.u32(value.length);
    for (let i = 0; i < value.length; i++) encodePart(value[i], depth, i);
    return;
  }
  if (!isPlainObject(value)) throw new KeyFault(`an instance of ${value.constructor?.name ?? "a class"} is not a key value`);
  const record = value as Record<string, unknown>;
  const names = Object.keys(record).sort();
  sink.byte(TAG_OBJECT);
  sink.u32(names.length);
  for (const name of names) {
    sink.str(name);
    encodePart(record[name], depth, name);
  }
}

/** Encodes one element (`at` a number) or field (`at` its name), adding its place to a fault's path. */
function encodePart(value: unknown, depth: number, at: number | string): void {
  try {
    encodeInto(value, depth + 1);
  } catch (err) {
    if (err instanceof KeyFault) err.path.unshift(typeof at === "number" ? `[${at}]` : `.${at}`);
    throw err;
  }
}

/** The last partition count as a BigInt (one conversion per count, not per key). */
let divisor = { of: 1, big: 1n };

/**
 * The canonical bytes of a key (a view into a scratch buffer, valid until the next call, and the same
 * Buffer object may come back from later calls), or a ShuffleKeyError naming `operator` and the key.
 */
export function canonicalKeyBytes(key: unknown, operator: string): Buffer {
  sink.pos = 0;
  try {
    encodeInto(key, 0);
  } catch (err) {
    if (!(err instanceof KeyFault)) throw err;
    throw new ShuffleKeyError(operator, describeKey(key), err.path.length === 0 ? err.reason : `key${err.path.join("")}: ${err.reason}`);
  }
  return sink.written();
}

/** A string, a finite number, or a flat array of those: valid without encoding (the common sort keys). */
function isFlatKey(key: unknown): boolean {
  if (typeof key === "string" || (typeof key === "number" && Number.isFinite(key))) return true;
  if (!Array.isArray(key)) return false;
  for (const v of key) if (typeof v !== "string" && !(typeof v === "number" && Number.isFinite(v))) return false;
  return true;
}

/**
 * The key with every string in it well-formed: a lone surrogate becomes U+FFFD, as it does in the
 * canonical bytes and in msgpack, so that the order a map task sorts by is the order the reduce side
 * merges by. Returns the key itself when nothing changes (almost always).
 */
export function wellFormedKey(key: unknown): unknown {
  if (typeof key === "string") return wellFormed(key);
  if (typeof key !== "object" || key === null) return key;
  if (Array.isArray(key)) {
    for (let i = 0; i < key.length; i++) {
      if (wellFormedKey(key[i]) !== key[i]) return key.map(wellFormedKey);
    }
    return key;
  }
  if (!isPlainObject(key)) return key;
  const fields = Object.entries(key);
  if (fields.every(([name, v]) => wellFormed(name) === name && wellFormedKey(v) === v)) return key;
  return Object.fromEntries(fields.map(([name, v]) => [wellFormed(name), wellFormedKey(v)]));
}

/** A surrogate code unit outside a pair (with the u flag a pair is one code point, not a match). */
const LONE_SURROGATE = /\p{Surrogate}/u;
const LONE_SURROGATES = /\p{Surrogate}/gu;

/** `s` with each lone surrogate replaced by U+FFFD (String.prototype.toWellFormed, which ES2023 typings lack). */
function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATES, "\ufffd") : s;
}

/** Checks that a value is a valid key (same rules as hashing), throwing ShuffleKeyError if not. */
export function assertShuffleKey(key: unknown, operator: string): asserts key is ShuffleKey {
  if (!isFlatKey(key)) canonicalKeyBytes(key, operator);
}

/**
 * The target partition of a key: integers in [0, numPartitions) map to themselves, everything else
 * to xxh3-64(canonical bytes) mod numPartitions.
 */
export function partitionOf(key: unknown, numPartitions: number, operator = "shuffle"): number {
  if (typeof key === "number" && Number.isInteger(key) && key >= 0 && key < numPartitions) return key + 0; // -0 → 0
  const hash = xxh3.xxh64(canonicalKeyBytes(key, operator));
  if (numPartitions !== divisor.of) divisor = { of: numPartitions, big: BigInt(numPartitions) };
  return Number(hash % divisor.big);
}

function rank(v: ShuffleKey): number {
  if (v === null) return 0;
  switch (typeof v) {
    case "boolean":
      return v ? 2 : 1;
    case "number":
      return 3;
    case "string":
      return 4;
    default:
      return Array.isArray(v) ? 5 : 6;
  }
}

/** Total order on keys (see the file header). Returns <0, 0 or >0. */
export function compareKeys(a: ShuffleKey, b: ShuffleKey): number {
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 5) {
    const xa = a as ShuffleKey[];
    const xb = b as ShuffleKey[];
    const n = Math.min(xa.length, xb.length);
    for (let i = 0; i < n; i++) {
      const c = compareKeys(xa[i], xb[i]);
      if (c !== 0) return c;
    }
    return xa.length - xb.length;
  }
  if (ra === 6) {
    const oa = a as Record<string, ShuffleKey>;
    const ob = b as Record<string, ShuffleKey>;
    const na = Object.keys(oa).sort();
    const nb = Object.keys(ob).sort();
    const n = Math.min(na.length, nb.length);
    for (let i = 0; i < n; i++) {
      if (na[i] !== nb[i]) return na[i] < nb[i] ? -1 : 1;
      const c = compareKeys(oa[na[i]], ob[nb[i]]);
      if (c !== 0) return c;
    }
    return na.length - nb.length;
  }
  return 0; // null, or equal booleans
}
