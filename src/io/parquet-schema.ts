/**
 * kiln's parquet schemas: checking a schema given by a caller, inferring one from rows (the writer's
 * fallback), checking each row against a schema before it is buffered (so a bad row fails at once,
 * naming the row, the field path and the expected and found types), and recovering the schema of an
 * existing file: from the `kiln.schema` key that kiln writes into every file, else from the parquet
 * column tree (older kiln files, whose nested values were JSON text listed in `kiln.json_columns`).
 */
import type { FileMetaData, SchemaTree } from "hyparquet";
import { parquetSchema as parquetSchemaTree } from "hyparquet";
import { BadSchemaError, FormatError, UnwritableRowError, type ParquetSchema, type ParquetType } from "./format-types.ts";

export const SCHEMA_KEY = "kiln.schema";
export const JSON_COLUMNS_KEY = "kiln.json_columns";

type ScalarType = Extract<ParquetType, string>;
const SCALARS: readonly ScalarType[] = ["string", "int64", "float64", "bool", "json"];

function isScalar(name: string): name is ScalarType {
  return SCALARS.some((s) => s === name);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A row, struct value or schema: an object that is not an array, a typed array or null. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** "string", "list<int64>", "struct<a: string, b: float64>": how types are named in messages. */
export function describeType(type: ParquetType): string {
  if (typeof type === "string") return type;
  if ("list" in type) return `list<${describeType(type.list)}>`;
  return `struct<${Object.entries(type.struct)
    .map(([name, field]) => `${name}: ${describeType(field)}`)
    .join(", ")}>`;
}

function checkType(type: unknown, where: string, path: string): ParquetType {
  if (typeof type === "string") {
    if (isScalar(type)) return type;
    throw new BadSchemaError(where, `column '${path}' has unknown type '${type}'`);
  }
  if (isRecord(type) && Object.keys(type).length === 1 && "list" in type) {
    return { list: checkType(type.list, where, `${path}[]`) };
  }
  if (isRecord(type) && Object.keys(type).length === 1 && "struct" in type && isRecord(type.struct)) {
    const fields = Object.entries(type.struct);
    if (fields.length === 0) throw new BadSchemaError(where, `struct '${path}' has no fields (parquet cannot store an empty group)`);
    return { struct: Object.fromEntries(fields.map(([name, field]) => [name, checkType(field, where, `${path}.${name}`)])) };
  }
  throw new BadSchemaError(where, `column '${path}' has type ${JSON.stringify(type) ?? String(type)}, which is not a parquet type`);
}

function checkSchemaShape(schema: unknown, where: string): ParquetSchema {
  if (!isRecord(schema)) throw new BadSchemaError(where, "the schema must be an object mapping column names to types");
  return Object.fromEntries(Object.entries(schema).map(([name, type]) => [name, checkType(type, where, name)]));
}

/** Checks a schema given by a caller (it may come from JSON config) and returns it typed. */
export function checkSchema(schema: unknown, where: string): ParquetSchema {
  const checked = checkSchemaShape(schema, where);
  if (Object.keys(checked).length === 0) throw new BadSchemaError(where, "the schema has no columns (a parquet file needs at least one)");
  return checked;
}

type Inferred = ParquetType | "null";

function inferValue(value: unknown): Inferred {
  switch (typeof value) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isSafeInteger(value) ? "int64" : "float64";
    case "bigint":
      return "int64";
    case "object":
      return value === null ? "null" : "json";
    default:
      return "null"; // undefined: the field is absent
  }
}

function mergeInferred(a: Inferred, b: Inferred): Inferred | undefined {
  if (a === b || b === "null") return a;
  if (a === "null") return b;
  if ((a === "int64" && b === "float64") || (a === "float64" && b === "int64")) return "float64";
  return undefined;
}

/**
 * The schema the writer uses when none is given: columns in order of first appearance; strings,
 * booleans, int64 when every number is a safe integer (float64 otherwise); objects and arrays as
 * "json" (their shape varies from row to row, so no struct is guessed); a column that is null in
 * every row is a string column. `where` names the file in errors.
 */
export function inferParquetSchema(rows: readonly Record<string, unknown>[], where = "rows"): ParquetSchema {
  const inference = new SchemaInference(where);
  rows.forEach((row, index) => inference.add(row, index));
  return inference.schema();
}

/** What an inferred column is written as. */
function writtenAs(kind: Inferred): ParquetType {
  return kind === "null" ? "string" : kind;
}

/**
 * {@link inferParquetSchema} a row at a time, for a writer that must know whether the rows seen since
 * it fixed the schema still fit it.
 */
export class SchemaInference {
  private readonly kinds = new Map<string, Inferred>();

  constructor(private readonly where: string) {}

  /** Takes `row` (the `index`th) into the schema; true when that changed a column's written type or added one. */
  add(row: Record<string, unknown>, index: number): boolean {
    let changed = false;
    for (const key in row) {
      if (!Object.hasOwn(row, key)) continue;
      const value = row[key];
      if (typeof value === "function" || typeof value === "symbol") {
        throw new UnwritableRowError(this.where, `row ${index}, field '${key}': a ${typeof value} cannot be stored`);
      }
      const kind = inferValue(value);
      const prev = this.kinds.get(key);
      const merged = mergeInferred(prev ?? "null", kind);
      if (!merged) throw new UnwritableRowError(this.where, `row ${index}, field '${key}': ${kind} value in a column of ${prev} values`);
      if (prev === merged) continue;
      if (prev === undefined || writtenAs(prev) !== writtenAs(merged)) changed = true;
      this.kinds.set(key, merged);
    }
    return changed;
  }

  schema(): ParquetSchema {
    return Object.fromEntries([...this.kinds].map(([name, kind]) => [name, writtenAs(kind)]));
  }
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "bigint" ? `${value}n` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** What a value is, in the words of the messages: "string \"abc\"", "number 1.5", "array", "object". */
function found(value: unknown): string {
  if (Array.isArray(value)) return `array ${preview(value)}`;
  if (isRecord(value)) return `object ${preview(value)}`;
  return `${typeof value} ${preview(value)}`;
}

/** Why `value` (not null/undefined) does not fit `type`, or undefined when it fits. */
function mismatch(value: unknown, type: ParquetType, field: string): string | undefined {
  const expected = () => `field '${field}': expected ${describeType(type)}, found ${found(value)}`;
  switch (type) {
    case "string":
      return typeof value === "string" ? undefined : expected();
    case "bool":
      return typeof value === "boolean" ? undefined : expected();
    case "float64":
      if (typeof value !== "number") return expected();
      return Number.isFinite(value) ? undefined : `field '${field}': ${value} cannot be stored (float64 holds finite numbers only)`;
    case "int64":
      if (typeof value === "bigint") return value >= INT64_MIN && value <= INT64_MAX ? undefined : `${expected()} (outside the int64 range)`;
      if (typeof value === "number" && Number.isSafeInteger(value)) return undefined;
      return typeof value === "number" && Number.isInteger(value)
        ? `${expected()} (beyond 2^53 a number is not exact: pass a bigint)`
        : expected();
    case "json":
      return typeof value === "function" || typeof value === "symbol" || typeof value === "bigint" ? `${expected()} (no JSON form)` : undefined;
  }
  if ("list" in type) {
    if (!Array.isArray(value)) return expected();
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const why = item === null || item === undefined ? undefined : mismatch(item, type.list, `${field}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (!isRecord(value)) return expected();
  return mismatchFields(value, type.struct, `${field}.`, `struct '${field}'`);
}

function mismatchFields(record: Record<string, unknown>, fields: Record<string, ParquetType>, prefix: string, owner: string): string | undefined {
  for (const key of Object.keys(record)) {
    if (!(key in fields)) {
      return `field '${prefix}${key}' is not in the schema (${owner} has ${Object.keys(fields).join(", ")}): add it to the schema or drop the field`;
    }
  }
  for (const name in fields) {
    const value = record[name];
    if (value === null || value === undefined) continue;
    const why = mismatch(value, fields[name], `${prefix}${name}`);
    if (why) return why;
  }
  return undefined;
}

/** Throws UnwritableRowError when `row` does not fit `schema`, naming the file, row index and field path. */
export function checkRow(row: Record<string, unknown>, schema: ParquetSchema, path: string, index: number): void {
  const why = mismatchFields(row, schema, "", "the file's schema");
  if (why) throw new UnwritableRowError(path, `row ${index}, ${why}`, "make the row match the schema, or change the schema");
}

function metadataValue(metadata: FileMetaData, key: string): unknown {
  const value = metadata.key_value_metadata?.find((kv) => kv.key === key)?.value;
  return value ? JSON.parse(value) : undefined;
}

function jsonColumnsOf(metadata: FileMetaData): Set<string> {
  const names = metadataValue(metadata, JSON_COLUMNS_KEY);
  return new Set(Array.isArray(names) ? names.filter((n) => typeof n === "string") : []);
}

/** The kiln type of a column of a file written without `kiln.schema`, or undefined for types kiln does not write. */
function typeOfNode(node: SchemaTree): ParquetType | undefined {
  const { element, children } = node;
  const logical = element.logical_type?.type ?? element.converted_type;
  if (element.repetition_type === "REPEATED") return undefined; // a legacy list without a LIST group
  if (children.length === 0) {
    if (element.type === "BYTE_ARRAY" && (logical === "STRING" || logical === "UTF8")) return "string";
    if (element.type === "INT64" && (logical === undefined || logical === "INTEGER" || logical === "INT_64")) return "int64";
    if (element.type === "DOUBLE") return "float64";
    if (element.type === "BOOLEAN") return "bool";
    return undefined;
  }
  if (logical === "LIST") {
    const repeated = children[0];
    if (children.length !== 1 || repeated.element.repetition_type !== "REPEATED" || repeated.children.length !== 1) return undefined;
    const item = typeOfNode(repeated.children[0]);
    return item && { list: item };
  }
  if (logical !== undefined) return undefined;
  const fields: [string, ParquetType][] = [];
  for (const child of children) {
    const type = typeOfNode(child);
    if (!type) return undefined;
    fields.push([child.element.name, type]);
  }
  return { struct: Object.fromEntries(fields) };
}

/**
 * The top-level columns of a file: name → kiln type, or undefined for a column kiln has no type
 * for (written by another tool). Uses `kiln.schema` when the file carries it.
 */
export function columnsOf(metadata: FileMetaData, path: string): Map<string, ParquetType | undefined> {
  const stored = metadataValue(metadata, SCHEMA_KEY);
  if (stored !== undefined) return new Map(Object.entries(checkSchemaShape(stored, `${path} (${SCHEMA_KEY})`)));
  const json = jsonColumnsOf(metadata);
  const columns = new Map<string, ParquetType | undefined>();
  for (const child of parquetSchemaTree(metadata).children) {
    const name = child.element.name;
    columns.set(name, json.has(name) ? "json" : typeOfNode(child));
  }
  return columns;
}

/**
 * Fails on a column or struct field named `__proto__` (among `columns`, or anywhere), which a row (a
 * plain JavaScript object) cannot hold as data.
 */
export function checkNoReservedNames(metadata: FileMetaData, path: string, columns?: ReadonlySet<string>): void {
  const pending: Array<[SchemaTree, string]> = parquetSchemaTree(metadata)
    .children.filter((c) => !columns || columns.has(c.element.name))
    .map((c) => [c, c.element.name]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, name] = next;
    if (node.element.name === "__proto__") {
      throw new FormatError(
        "KILN_UNSUPPORTED_COLUMN",
        `${path}: column '${name}': a field named __proto__ cannot be read as data (on a JavaScript object it sets the prototype)`,
        "rename the column in the file (for example with DuckDB: COPY (SELECT * RENAME (__proto__ AS proto) FROM 'in.parquet') TO 'out.parquet'), or leave it out of the columns read",
      );
    }
    for (const child of node.children) pending.push([child, `${name}.${child.element.name}`]);
  }
}

/** A column's type for comparing files: the kiln type, else the physical parquet description. */
export function columnSignature(metadata: FileMetaData, name: string, type: ParquetType | undefined): string {
  if (type) return describeType(type);
  const node = parquetSchemaTree(metadata).children.find((c) => c.element.name === name);
  const physical = (n: SchemaTree): string => {
    const e = n.element;
    const logical = e.logical_type?.type ?? e.converted_type ?? "";
    const inner = n.children.length ? `<${n.children.map((c) => `${c.element.name}: ${physical(c)}`).join(", ")}>` : "";
    return `${e.type ?? "GROUP"}${logical ? `/${logical}` : ""}${inner}/${e.repetition_type ?? "REQUIRED"}`;
  };
  return node ? physical(node) : "absent";
}
