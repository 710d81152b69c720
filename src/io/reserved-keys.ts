/**
 * Keys named `__proto__`, which a record (a plain JavaScript object) cannot carry as data: assigning
 * one sets the object's prototype, and msgpack renames it to `__proto_`, so the field would be lost
 * or changed on the way. Readers refuse such records instead (JSONL: the reject reason
 * reserved-field; parquet JSON values and column names: KILN_UNSUPPORTED_COLUMN). JSON text is
 * scanned once for the key, spelled out or with a letter written as a \u escape, and only text that
 * may hold it has its parsed values walked.
 */

const RESERVED_KEY_HINT = /"__proto__"|\\u00(?:5[fF]|70|72|6[fF]|74)/;

/** Whether JSON text may hold a key named `__proto__` (never false when it does). */
export function mayHoldReservedKey(json: string): boolean {
  return RESERVED_KEY_HINT.test(json);
}

/** The path of the first key named `__proto__` in a parsed value (`a.b[2].__proto__`), if any; iterative, so any depth JSON.parse accepts is walked. */
export function reservedKeyPath(value: unknown): string | undefined {
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
