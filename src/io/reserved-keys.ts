/**
 * Keys named `__proto__`, which a record (a plain JavaScript object) cannot carry as data: assigning
 * one sets the object's prototype, and msgpack renames it to `__proto_`, so the field would be lost
 * or changed on the way. Readers refuse such records instead (JSONL: the reject reason
 * reserved-field; parquet JSON values and column names: KILN_UNSUPPORTED_COLUMN). A parsed value is
 * checked whichever way costs less: short JSON text is scanned for the key, spelled out or with a
 * letter written as a \u escape, and only text that may hold it has its values walked; a long text
 * with few values (a document: a few fields around a long string) has its parsed values walked at
 * once, which costs a fraction of scanning every character (on 3 KB records the scan, at about
 * 1.5 GB/s, took two fifths of JSON.parse's time).
 */

const RESERVED_KEY_HINT = /"__proto__"|\\u00(?:5[fF]|70|72|6[fF]|74)/;

/** Whether JSON text may hold a key named `__proto__` (never false when it does). */
function mayHoldReservedKey(json: string): boolean {
  return RESERVED_KEY_HINT.test(json);
}

/** The path of the first key named `__proto__` in a parsed value (`a.b[2].__proto__`), if any; iterative, so any depth JSON.parse accepts is walked. */
function reservedKeyPath(value: unknown): string | undefined {
  const pending: Array<[unknown, string]> = [[value, ""]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, at] = next;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) pending.push([node[i], `${at}[${i}]`]);
    } else if (node !== null && typeof node === "object") {
      if (Object.hasOwn(node, "__proto__")) return at ? `${at}.__proto__` : "__proto__";
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) pending.push([Reflect.get(node, keys[i]), at ? `${at}.${keys[i]}` : keys[i]]);
    }
  }
  return undefined;
}

/** From this many characters of JSON text, `reservedKeyIn` walks the parsed value before it scans the text. */
export const WALK_FROM_CHARS = 512;
/**
 * Values the walk looks at per this many characters of the text before it hands over to the scan:
 * one value costs the walk about as much as the scan pays for 64 characters.
 */
const CHARS_PER_WALKED_VALUE = 64;

/**
 * Whether `value` holds a key named `__proto__` at any depth: true, false, or undefined once
 * `budget` values were looked at without an answer (a for-in walk: JSON.parse makes every key an
 * own enumerable property).
 */
function holdsReservedKeyWithin(value: unknown, budget: number): boolean | undefined {
  if (value === null || typeof value !== "object") return false;
  let pending: object[] | undefined;
  let seen = 0;
  for (let node: object | undefined = value; node !== undefined; node = pending?.pop()) {
    if (Array.isArray(node)) {
      for (const item of node) {
        if (++seen > budget) return undefined;
        if (item !== null && typeof item === "object") (pending ??= []).push(item);
      }
      continue;
    }
    for (const key in node) {
      if (++seen > budget) return undefined;
      if (key === "__proto__") return true;
      const item: unknown = Reflect.get(node, key);
      if (item !== null && typeof item === "object") (pending ??= []).push(item);
    }
  }
  return false;
}

/** The path of the first key named `__proto__` in `value`, parsed from the JSON text `json`, if any (see the header). */
export function reservedKeyIn(value: unknown, json: string): string | undefined {
  if (json.length >= WALK_FROM_CHARS) {
    const holds = holdsReservedKeyWithin(value, json.length / CHARS_PER_WALKED_VALUE);
    if (holds !== undefined) return holds ? reservedKeyPath(value) : undefined;
  }
  return mayHoldReservedKey(json) ? reservedKeyPath(value) : undefined;
}
