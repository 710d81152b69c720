/**
 * The user-facing `Dataset<T>`: an immutable, lazy description of data-parallel work. Every method
 * returns a new Dataset with one more logical operator and the row type carried along (`map`
 * infers its output, a type-guard `filter` narrows, `select` keeps only the named keys). `count`,
 * `reduce` and `write` end the chain with a {@link Terminal}. Nothing runs until the plan is handed
 * to `executeDataset`. User functions are either {@link FnRef}s (any executor) or closures (inline
 * executor only); closures stay in a side table and the plan records only their operator label.
 */
import { DatasetPlanError } from "./errors.ts";
import { assertJson, fn, isFnRef } from "./fn.ts";
import { addKeyCounts, keyOf, keyWithOne, sumKeyCounts } from "./builtins.ts";
import type { KeyCount } from "./builtins.ts";
import type { AnyFunction, Fn, FnSpec, JsonValue, UserContext } from "./fn.ts";
import type { BadRecordPolicy, JoinHow, LogicalOp, LogicalPlan, OutputFormat, OutputSchema, Where, WriteOp } from "./logical.ts";
import type { ShuffleKey } from "../shuffle/index.ts";
import { explainPlan } from "./plan/explain.ts";
import type { GroupByOptions, IterateOptions, JoinOptions, Joined, ReadOptions, RoutedWriteOptions, WriteOptions } from "./dataset-options.ts";

export type { GroupByOptions, IterateOptions, JoinOptions, Joined, ReadOptions, RoutedWriteOptions, WriteOptions };
import type { WrittenFile } from "./exec/task.ts";

type Closures = ReadonlyMap<string, AnyFunction>;
const BUILTINS = new URL("./builtins.ts", import.meta.url).href;

/** Shared by Dataset and Terminal: the operator list, closures, and plan accessors. */
abstract class PlanHolder {
  /** @internal */
  readonly ops: readonly LogicalOp[];
  /** @internal Closures by plan label; used only by the inline executor. */
  readonly closures: Closures;

  protected constructor(ops: readonly LogicalOp[], closures: Closures) {
    this.ops = Object.freeze([...ops]);
    this.closures = closures;
  }

  /** The logical plan as plain JSON. */
  logicalPlan(): LogicalPlan {
    return JSON.parse(JSON.stringify({ version: 1, ops: this.ops })) as LogicalPlan;
  }

  /** Logical and physical plans as deterministic text. */
  explain(): string {
    return explainPlan(this.logicalPlan());
  }
}

/** A finished chain: `count()`, `reduce()` or `write()`. `R` is what execution returns besides counters. */
export class Terminal<R> extends PlanHolder {
  declare readonly __result?: R;
  /** @internal */
  static create<R>(ops: readonly LogicalOp[], closures: Closures): Terminal<R> {
    return new Terminal<R>(ops, closures);
  }
}

export class Dataset<T> extends PlanHolder {
  declare readonly __row?: T;

  /**
   * Rows from files: jsonl, jsonl.zst, jsonl.gz or parquet; globs allowed. One shard per input split,
   * in input order: the patterns as given, each one's matches in path order, a large plain JSONL
   * file's byte ranges in byte order.
   */
  static read<T = Record<string, unknown>>(patterns: string | string[], opts: ReadOptions = {}): Dataset<T> {
    const list = typeof patterns === "string" ? [patterns] : [...patterns];
    if (list.length === 0 || list.some((p) => typeof p !== "string" || p === "")) {
      throw new DatasetPlanError("Dataset.read(): no input patterns", "pass a path or glob such as 'data/*.jsonl.zst'");
    }
    if (opts.splitBytes !== undefined && !(Number.isInteger(opts.splitBytes) && opts.splitBytes > 0)) {
      throw new DatasetPlanError(`Dataset.read(): splitBytes ${opts.splitBytes} is not a positive integer`, "pass e.g. 256 * 1024 * 1024");
    }
    if (opts.onBadRecord !== undefined && !["fail", "skip", "quarantine"].includes(opts.onBadRecord)) {
      throw new DatasetPlanError(`Dataset.read(): onBadRecord ${JSON.stringify(opts.onBadRecord)} is not a policy`, "use 'fail', 'skip' or 'quarantine'");
    }
    if (opts.onBadRecord === "quarantine" && !opts.quarantine) {
      throw new DatasetPlanError("Dataset.read(): onBadRecord 'quarantine' without a folder", "pass { onBadRecord: 'quarantine', quarantine: 'path/to/folder' }");
    }
    const op: LogicalOp = { id: 1, kind: "read", patterns: list };
    if (opts.splitBytes !== undefined) op.splitBytes = opts.splitBytes;
    if (opts.onBadRecord !== undefined) op.onBadRecord = opts.onBadRecord;
    if (opts.quarantine !== undefined) op.quarantine = opts.quarantine;
    return new Dataset<T>([op], new Map());
  }

  /** Inline JSON rows, spread over `shards` shards (default 1). */
  static fromItems<T>(items: readonly T[], opts: { shards?: number } = {}): Dataset<T> {
    const shards = opts.shards ?? 1;
    if (!Number.isInteger(shards) || shards < 1) {
      throw new DatasetPlanError(`Dataset.fromItems(): shards ${shards} is not a positive integer`, "pass { shards: 4 } or leave it out");
    }
    assertJson(items as unknown, "Dataset.fromItems() items");
    return new Dataset<T>([{ id: 1, kind: "items", items: items as unknown as JsonValue[], shards }], new Map());
  }

  map<U>(f: Fn<(row: T, ctx: UserContext) => U>): Dataset<U> {
    return this.withFn<U>("map", f);
  }

  flatMap<U>(f: Fn<(row: T, ctx: UserContext) => Iterable<U>>): Dataset<U> {
    return this.withFn<U>("flatMap", f);
  }

  filter<S extends T>(f: Fn<(row: T, ctx: UserContext) => row is S>): Dataset<S>;
  filter(f: Fn<(row: T, ctx: UserContext) => boolean> | Where): Dataset<T>;
  // The implementation's `any` keeps it compatible with both overloads whatever T's variance.
  filter(f: Fn<AnyFunction> | Where): Dataset<any> {
    if (typeof f === "object" && f !== null && (f as Where).kind === "kiln.where") {
      const where = f as Where;
      assertJson(where as unknown, "filter() where");
      return this.then<unknown>({ id: this.nextId(), kind: "filter", where });
    }
    return this.withFn<unknown>("filter", f as Fn<AnyFunction>);
  }

  /** Keeps only the named fields (pushed into parquet reads). */
  select<K extends keyof T & string>(...columns: K[]): Dataset<Pick<T, K>> {
    if (columns.length === 0 || columns.some((c) => typeof c !== "string" || c === "")) {
      throw new DatasetPlanError("select(): no column names", "pass one or more field names: select('id', 'text')");
    }
    return this.then<Pick<T, K>>({ id: this.nextId(), kind: "select", columns: [...columns] });
  }

  /** Runs `f` once per shard over the shard's rows as an async stream. */
  mapShard<U>(f: Fn<(rows: AsyncIterable<T>, ctx: UserContext) => AsyncIterable<U> | Iterable<U>>): Dataset<U> {
    return this.withFn<U>("mapShard", f);
  }

  /** Groups consecutive rows of a shard into arrays of `size` (the last one may be shorter). */
  window(size: number): Dataset<T[]> {
    positiveInteger(size, "window(size)");
    return this.then<T[]>({ id: this.nextId(), kind: "window", size });
  }

  /** The first `n` rows, taken in shard order. Gathers to one shard. */
  take(n: number): Dataset<T> {
    if (!Number.isInteger(n) || n < 0) throw new DatasetPlanError(`take(${n}): not a non-negative integer`, "pass a count such as take(100)");
    return this.then<T>({ id: this.nextId(), kind: "take", n });
  }

  /** Redistributes rows round-robin over `shards` shards (a stage boundary). */
  reshard(shards: number): Dataset<T> {
    positiveInteger(shards, "reshard(shards)");
    return this.then<T>({ id: this.nextId(), kind: "reshard", shards });
  }

  /**
   * Shuffles rows by `key` (a scatter ending this stage), then calls `reducer(key, values, ctx)` once
   * per key on the reduce side, with the group's rows streamed in `sortBy` order; its return value
   * is the output row. Output shards hold their keys in key order (see compareKeys).
   */
  groupBy<U>(
    key: Fn<(row: T, ctx: UserContext) => unknown>,
    reducer: Fn<(key: ShuffleKey, values: AsyncIterable<T>, ctx: UserContext) => U | Promise<U>>,
    opts: GroupByOptions<T> = {},
  ): Dataset<U> {
    const id = this.nextId();
    const closures = new Map(this.closures);
    const op: LogicalOp = {
      id,
      kind: "groupBy",
      key: specFor(key, `groupBy #${id} key`, closures),
      reducer: specFor(reducer, `groupBy #${id} reducer`, closures),
    };
    if (opts.sortBy !== undefined) op.sortBy = specFor(opts.sortBy, `groupBy #${id} sortBy`, closures);
    if (opts.combiner !== undefined) op.combiner = specFor(opts.combiner, `groupBy #${id} combiner`, closures);
    if (opts.numShards !== undefined) op.shards = positiveInteger(opts.numShards, "groupBy({ numShards })");
    return this.then<U>(op, closures);
  }

  /**
   * Keeps one row per `key`: the first one in dataset order (input shard order, then row order
   * within a shard). Output shards hold their keys in key order.
   */
  deduplicate(key: Fn<(row: T, ctx: UserContext) => unknown>, opts: { numShards?: number } = {}): Dataset<T> {
    const id = this.nextId();
    const closures = new Map(this.closures);
    const op: LogicalOp = { id, kind: "deduplicate", key: specFor(key, `deduplicate #${id} key`, closures) };
    if (opts.numShards !== undefined) op.shards = positiveInteger(opts.numShards, "deduplicate({ numShards })");
    return this.then<T>(op, closures);
  }

  /**
   * Hash-partitions rows by `key` into `numShards` shards (default: as many as this stage has) and
   * sorts each shard by key, then `sortBy`: shard p holds exactly the keys with
   * partitionOf(key, numShards) = p. Without `sortBy` the rows of one key come in input order (this
   * stage's shards in order, each shard's rows in order): runs are sorted stably and merged with
   * ties going to the earlier map task and run. Followed by `write`, this is a sorted co-partitioned write (the
   * layout sortedMergeJoin and per-part attribute files rely on); followed by `mapShard`, a stream
   * of every row of a key in order, without holding a group in memory.
   */
  partitionBy(key: Fn<(row: T, ctx: UserContext) => unknown>, opts: { sortBy?: Fn<(row: T, ctx: UserContext) => unknown>; numShards?: number } = {}): Dataset<T> {
    const id = this.nextId();
    const closures = new Map(this.closures);
    const op: LogicalOp = { id, kind: "partitionBy", key: specFor(key, `partitionBy #${id} key`, closures) };
    if (opts.sortBy !== undefined) op.sortBy = specFor(opts.sortBy, `partitionBy #${id} sortBy`, closures);
    if (opts.numShards !== undefined) op.shards = positiveInteger(opts.numShards, "partitionBy({ numShards })");
    return this.then<T>(op, closures);
  }

  /**
   * Joins shard i of this dataset with shard i of `right`. Both must be co-partitioned (the same
   * number of shards, equal keys in the same shard) and each shard sorted by its key, as the
   * output of groupBy/deduplicate with the same key and numShards is; execution checks shard
   * counts and order and fails naming the side, shard and record otherwise.
   */
  sortedMergeJoin<R, How extends JoinHow = "inner">(
    right: Dataset<R>,
    opts: JoinOptions<NoInfer<T>, R, How>,
  ): Dataset<Joined<T, R, How>> {
    if (!(right instanceof Dataset)) {
      throw new DatasetPlanError("sortedMergeJoin(): the right input is not a Dataset", "pass a Dataset (not a count/reduce/write terminal)");
    }
    const how = opts.how ?? "inner";
    if (how !== "inner" && how !== "left" && how !== "outer") {
      throw new DatasetPlanError(`sortedMergeJoin(): how ${JSON.stringify(how)} is not supported`, "use how: 'inner', 'left' or 'outer'");
    }
    const id = this.nextId();
    const closures = new Map(this.closures);
    const prefix = `sortedMergeJoin #${id} right: `;
    const rightOps = relabelClosures(right.logicalPlan().ops, prefix);
    for (const [label, f] of right.closures) closures.set(prefix + label, f);
    const op: LogicalOp = {
      id,
      kind: "sortedMergeJoin",
      right: { version: 1, ops: rightOps },
      leftKey: specFor(opts.leftKey, `sortedMergeJoin #${id} leftKey`, closures),
      rightKey: specFor(opts.rightKey, `sortedMergeJoin #${id} rightKey`, closures),
      how,
    };
    return this.then<Joined<T, R, How>>(op, closures);
  }

  /**
   * Runs `body` on the rows, then again on what it produced, until a round adds nothing to the user
   * counter `until` (e.g. label propagation until no label changes). `body` is called once, now,
   * with a placeholder dataset standing for a round's input; the plan stays JSON. The rows of the
   * last round continue the chain.
   */
  iterate(body: (round: Dataset<T>) => Dataset<T>, opts: IterateOptions): Dataset<T> {
    if (typeof opts?.until !== "string" || opts.until === "") {
      throw new DatasetPlanError("iterate(): no counter to stop on", "pass { until: 'changed' } and increment that counter in the body while something changes");
    }
    const maxRounds = positiveInteger(opts.maxRounds ?? 100, "iterate({ maxRounds })");
    const id = this.nextId();
    const placeholder = new Dataset<T>([{ id: 1, kind: "loopInput" }], new Map());
    const out = body(placeholder);
    if (!(out instanceof Dataset) || out.ops[0]?.kind !== "loopInput") {
      throw new DatasetPlanError(`iterate #${id}: the body must return a Dataset built from the round it was given`, "return round.map(...).groupBy(...) etc.");
    }
    const closures = new Map(this.closures);
    const prefix = `iterate #${id} body: `;
    for (const [label, f] of out.closures) closures.set(prefix + label, f);
    const op: LogicalOp = { id, kind: "iterate", body: { version: 1, ops: relabelClosures(out.logicalPlan().ops, prefix) }, until: opts.until, maxRounds };
    return this.then<T>(op, closures);
  }

  /**
   * Rows per key, `{ key, count }`, counted through the shuffle with a map-side combiner (a global
   * `count()` stays a gather). Plans as map(key) -> map -> groupBy with built-in functions.
   */
  countByKey(key: Fn<(row: T, ctx: UserContext) => unknown>, opts: { numShards?: number } = {}): Dataset<KeyCount> {
    const keyed = this.map<ShuffleKey>(key as Fn<(row: T, ctx: UserContext) => ShuffleKey>).map(fn(BUILTINS, keyWithOne));
    return keyed.groupBy(fn(BUILTINS, keyOf), fn(BUILTINS, sumKeyCounts), { combiner: fn(BUILTINS, addKeyCounts), ...opts });
  }

  count(): Terminal<{ value: number }> {
    return Terminal.create([...this.ops, { id: this.nextId(), kind: "count" }], this.closures);
  }

  /**
   * Local fold per shard (starting from `initial`, which should be the identity of `combine`),
   * a gather of the per-shard values, and a global fold with `combine` in shard order.
   */
  reduce<A>(
    initial: A,
    fold: Fn<(acc: A, row: T, ctx: UserContext) => A>,
    combine: Fn<(a: A, b: A, ctx: UserContext) => A>,
  ): Terminal<{ value: A }> {
    assertJson(initial as unknown, "reduce() initial value");
    const id = this.nextId();
    const closures = new Map(this.closures);
    const op: LogicalOp = {
      id,
      kind: "reduce",
      initial: initial as unknown as JsonValue,
      fold: specFor(fold, `reduce #${id} fold`, closures),
      combine: specFor(combine, `reduce #${id} combine`, closures),
    };
    return Terminal.create([...this.ops, op], closures);
  }

  /**
   * Writes one file per shard; `{shard}` and `{total}` in the pattern are filled in. With a record of
   * patterns and a `route` function, each row goes to the target its route names (a side output).
   */
  write(pattern: string, opts?: WriteOptions): Terminal<{ outputs: string[]; files: WrittenFile[] }>;
  write<K extends string>(patterns: Record<K, string>, opts: RoutedWriteOptions<T, K>): Terminal<{ outputs: Record<K, string[]>; files: WrittenFile[] }>;
  write(patterns: string | Record<string, string>, opts: WriteOptions & { route?: Fn<AnyFunction> } = {}): Terminal<any> {
    const id = this.nextId();
    const targets = typeof patterns === "string" ? [{ tag: "main", pattern: patterns }] : Object.entries(patterns).map(([tag, pattern]) => ({ tag, pattern }));
    if (targets.length === 0 || targets.some((t) => typeof t.pattern !== "string" || t.pattern === "")) {
      throw new DatasetPlanError(`write #${id}: no output pattern`, "pass a pattern such as 'out/part-{shard}-of-{total}.parquet'");
    }
    if (typeof patterns !== "string" && opts.route === undefined) {
      throw new DatasetPlanError(`write #${id}: several targets but no route`, "pass { route: fn(import.meta.url, routeRow) } returning one of the targets' names");
    }
    const format = opts.format ?? formatFromPath(targets[0].pattern);
    if (!format || targets.some((t) => (opts.format ?? formatFromPath(t.pattern)) !== format)) {
      throw new DatasetPlanError(
        `write #${id}: cannot tell one output format from ${targets.map((t) => JSON.stringify(t.pattern)).join(", ")}`,
        "end the patterns with .jsonl, .jsonl.zst, .parquet or .bin (token shards), or pass { format }",
      );
    }
    if (format === "tokens" && !(Number.isInteger(opts.vocabSize) && (opts.vocabSize ?? 0) >= 1)) {
      throw new DatasetPlanError(`write #${id}: token shards need the vocabulary size`, "pass { vocabSize: tokenizer.vocabSize }");
    }
    if (opts.schema !== undefined) assertJson(opts.schema, `write #${id} schema`);
    const closures = new Map(this.closures);
    const op: WriteOp = { id, kind: "write", targets, format, skipExisting: opts.skipExisting ?? false };
    if (opts.route !== undefined) op.route = specFor(opts.route, `write #${id} route`, closures);
    if (opts.schema !== undefined) op.schema = opts.schema;
    if (opts.omitEmpty) op.omitEmpty = true;
    if (opts.vocabSize !== undefined) op.vocabSize = opts.vocabSize;
    return Terminal.create([...this.ops, op], closures);
  }

  private nextId(): number {
    return this.ops.length + 1;
  }

  private then<U>(op: LogicalOp, closures: Closures = this.closures): Dataset<U> {
    return new Dataset<U>([...this.ops, op], closures);
  }

  private withFn<U>(kind: "map" | "flatMap" | "filter" | "mapShard", f: Fn<AnyFunction>): Dataset<U> {
    const id = this.nextId();
    const closures = new Map(this.closures);
    return this.then<U>({ id, kind, fn: specFor(f, `${kind} #${id}`, closures) } as LogicalOp, closures);
  }
}

/** A `where` predicate for `filter()`; pushed into parquet reads. */
export function where(column: string, op: Where["op"], value: JsonValue): Where {
  return { kind: "kiln.where", column, op, value };
}

function specFor(f: Fn<AnyFunction>, label: string, closures: Map<string, AnyFunction>): FnSpec {
  if (typeof f === "function") {
    closures.set(label, f);
    return { kind: "closure", label };
  }
  if (isFnRef(f)) {
    const spec: FnSpec = { kind: "kiln.fn", module: f.module, export: f.export };
    if (f.args !== undefined) spec.args = f.args;
    return spec;
  }
  throw new DatasetPlanError(`${label}: expected a function or fn(import.meta.url, name)`, "pass fn(import.meta.url, myExportedFunction)");
}

function positiveInteger(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new DatasetPlanError(`${what}: ${n} is not a positive integer`, "pass an integer of 1 or more");
  return n;
}

const FN_FIELDS = ["fn", "fold", "combine", "key", "reducer", "sortBy", "combiner", "leftKey", "rightKey", "route"] as const;

/** A copy of `ops` with every closure placeholder's label prefixed (a join's right plan joins the left's closure table). */
function relabelClosures(ops: readonly LogicalOp[], prefix: string): LogicalOp[] {
  return ops.map((op) => {
    const copy = { ...op } as Record<string, unknown>;
    for (const field of FN_FIELDS) {
      const spec = copy[field] as FnSpec | undefined;
      if (spec?.kind === "closure") copy[field] = { kind: "closure", label: prefix + spec.label };
    }
    if (op.kind === "sortedMergeJoin") copy.right = { version: 1, ops: relabelClosures(op.right.ops, prefix) };
    if (op.kind === "iterate") copy.body = { version: 1, ops: relabelClosures(op.body.ops, prefix) };
    return copy as LogicalOp;
  });
}

export function formatFromPath(path: string): OutputFormat | undefined {
  if (path.endsWith(".bin")) return "tokens";
  if (path.endsWith(".jsonl.zst")) return "jsonl.zst";
  if (path.endsWith(".jsonl")) return "jsonl";
  if (path.endsWith(".parquet")) return "parquet";
  return undefined;
}
