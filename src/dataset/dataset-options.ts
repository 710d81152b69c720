/**
 * The options of the Dataset API's operators (read, write, routed write, iterate, groupBy, joins)
 * and the row type of a join, kept apart from the Dataset class that takes them.
 */
import type { Fn, UserContext } from "./fn.ts";
import type { BadRecordPolicy, JoinHow, OutputFormat, OutputSchema } from "./logical.ts";

export interface ReadOptions {
  /** Split plain JSONL and parquet files larger than this (default 64 MiB) into byte ranges, one shard each. */
  splitBytes?: number;
  /**
   * A record that cannot be decoded (malformed JSON, say): "fail" the task (the default, no
   * retries), "skip" it (counted by reason in the stage's counters), or "quarantine" it (counted, and
   * written with its file, line, reason and raw text to `quarantine/shard-NNNNN.jsonl`).
   */
  onBadRecord?: BadRecordPolicy;
  /** Folder for quarantined records (onBadRecord: "quarantine"). */
  quarantine?: string;
}

export interface WriteOptions {
  /** Defaults to the pattern's extension (.jsonl, .jsonl.zst, .parquet, .bin for token shards). */
  format?: OutputFormat;
  /** Skip a shard whose output files already exist (without reading its input). */
  skipExisting?: boolean;
  /** Parquet column types (empty files carry them too); without one, the first non-empty file's schema. */
  schema?: OutputSchema;
  /** Write no file for a shard (and target) that got no rows. */
  omitEmpty?: boolean;
  /** Token shards (format "tokens"): the vocabulary size, which sets uint16 or uint32 tokens. */
  vocabSize?: number;
}

/** A routed write: `route` names each row's target among the patterns' keys. */
export interface RoutedWriteOptions<T, K extends string> extends WriteOptions {
  route: Fn<(row: T, ctx: UserContext) => K>;
}

export interface IterateOptions {
  /** The user counter whose growth keeps the loop going: a round that adds 0 to it is the last. */
  until: string;
  /** Rounds at most (default 100); reaching it fails with IterationLimitError. */
  maxRounds?: number;
}

export interface GroupByOptions<T> {
  /** Secondary sort: each group's values reach the reducer in this order (ties keep no particular order). */
  sortBy?: Fn<(row: T, ctx: UserContext) => unknown>;
  /**
   * Associative merge of two rows with the same key, applied on the map side before the scatter
   * and again while merging; the reducer then sees the combined rows.
   */
  combiner?: Fn<(a: T, b: T, ctx: UserContext) => T>;
  /** Shards of the reduce side (default: as many as the map side has). */
  numShards?: number;
}

export interface JoinOptions<L, R, How extends JoinHow = JoinHow> {
  leftKey: Fn<(row: L, ctx: UserContext) => unknown>;
  rightKey: Fn<(row: R, ctx: UserContext) => unknown>;
  /** "inner" (the default), "left" (unmatched left rows too) or "outer" (unmatched rows of both sides). */
  how?: How;
}

/** A joined row: the left row and the matching right row; null stands for the missing side of an unmatched row. */
export type Joined<L, R, How extends JoinHow> = { left: How extends "outer" ? L | null : L; right: How extends "inner" ? R : R | null };
