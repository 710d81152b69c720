/**
 * Compiled vocabulary files: a CompiledBpe saved as one binary file and read back as typed-array
 * views, so that a process or worker thread that needs a vocabulary maps a file of a few MB instead
 * of importing the rank list and deriving the merge tables again (about 1.3 CPU-s for cl100k_base).
 * Files live in `KILN_TOKENIZER_CACHE` (default `<tmpdir>/kiln-tokenizers-<uid>`; "off" disables them),
 * named by a key that changes with the vocabulary's source; they are written to a temporary name
 * and renamed, and a file whose checksum or layout does not match is rebuilt and rewritten.
 *
 * Layout, little-endian: magic "KILNBPE\0", u32 format version, u32 length of the metadata JSON,
 * u64 xxh3-64 of everything after byte 24, the metadata JSON, then each table (8-byte aligned) in
 * TABLES order with the lengths the metadata gives.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { xxh3 } from "../util/xxhash.ts";
import type { CompiledBpe } from "./compile-bpe.ts";
import { BytesIdTable, PairTable } from "./merge-tables.ts";

const MAGIC = "KILNBPE\0";
export const COMPILED_FORMAT_VERSION = 1;
const PREFIX_BYTES = 24;

type Table = Uint8Array | Uint32Array | Int32Array;
const TABLES = ["tokenOffsets", "tokenBlob", "byteToId", "mergeResult", "mergeRank", "pairLefts", "pairRights", "pairValues", "wholeSlots"] as const;
type TableName = (typeof TABLES)[number];

interface Metadata {
  name: string;
  vocabSize: number;
  eosId: number | null;
  specialTokens: Record<string, number>;
  pattern: { source: string; flags: string };
  wholePieceLookup: boolean;
  lengths: Partial<Record<TableName, number>>;
}

const align8 = (n: number) => (n + 7) & ~7;

function tablesOf(c: CompiledBpe): Record<TableName, Table> {
  return {
    tokenOffsets: c.tokenOffsets,
    tokenBlob: c.tokenBlob,
    byteToId: c.byteToId,
    mergeResult: c.mergeResult,
    mergeRank: c.mergeRank,
    pairLefts: c.pairs.lefts,
    pairRights: c.pairs.rights,
    pairValues: c.pairs.values,
    wholeSlots: c.wholeTokens.slots,
  };
}

/** The file bytes of a compiled vocabulary. */
export function serializeCompiled(c: CompiledBpe): Buffer {
  const tables = tablesOf(c);
  const lengths: Partial<Record<TableName, number>> = {};
  for (const t of TABLES) lengths[t] = tables[t].length;
  const meta: Metadata = { name: c.name, vocabSize: c.vocabSize, eosId: c.eosId ?? null, specialTokens: c.specialTokens, pattern: c.pattern, wholePieceLookup: c.wholePieceLookup, lengths };
  const json = Buffer.from(JSON.stringify(meta), "utf8");
  let size = align8(PREFIX_BYTES + json.length);
  for (const t of TABLES) size += align8(tables[t].byteLength);
  const out = Buffer.alloc(size);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(COMPILED_FORMAT_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, PREFIX_BYTES);
  let at = align8(PREFIX_BYTES + json.length);
  for (const t of TABLES) {
    const table = tables[t];
    out.set(new Uint8Array(table.buffer, table.byteOffset, table.byteLength), at);
    at += align8(table.byteLength);
  }
  out.writeBigUInt64LE(xxh3.xxh64(out.subarray(PREFIX_BYTES)), 16);
  return out;
}

/** The compiled vocabulary in `data` (views on it, no copy when aligned), or a reason it is not one. */
export function parseCompiled(data: Uint8Array): CompiledBpe | string {
  if (data.length < PREFIX_BYTES) return "shorter than the header";
  const bytes = data.byteOffset % 8 === 0 ? data : new Uint8Array(data);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.toString("latin1", 0, 8) !== MAGIC) return "bad magic";
  if (buf.readUInt32LE(8) !== COMPILED_FORMAT_VERSION) return `format version ${buf.readUInt32LE(8)}, not ${COMPILED_FORMAT_VERSION}`;
  if (xxh3.xxh64(buf.subarray(PREFIX_BYTES)) !== buf.readBigUInt64LE(16)) return "checksum mismatch";
  const jsonLength = buf.readUInt32LE(12);
  let meta: Metadata;
  try {
    meta = JSON.parse(buf.toString("utf8", PREFIX_BYTES, PREFIX_BYTES + jsonLength));
  } catch {
    return "unreadable metadata";
  }
  const tables = new TableReader(bytes, align8(PREFIX_BYTES + jsonLength), meta.lengths ?? {});
  const offsets = tables.u32("tokenOffsets");
  const blob = tables.u8("tokenBlob");
  const byteToId = tables.u32("byteToId");
  const mergeResult = tables.u32("mergeResult");
  const mergeRank = tables.u32("mergeRank");
  const lefts = tables.i32("pairLefts");
  const rights = tables.i32("pairRights");
  const values = tables.i32("pairValues");
  const wholeSlots = tables.i32("wholeSlots");
  if (tables.problem) return tables.problem;
  if (tables.at !== bytes.byteLength) return "trailing bytes";
  if (offsets.length !== meta.vocabSize + 1 || offsets[meta.vocabSize] !== blob.length) return "token offsets do not match the vocabulary";
  return {
    name: meta.name,
    vocabSize: meta.vocabSize,
    eosId: meta.eosId ?? undefined,
    specialTokens: meta.specialTokens,
    pattern: meta.pattern,
    wholePieceLookup: meta.wholePieceLookup,
    tokenOffsets: offsets,
    tokenBlob: blob,
    byteToId,
    mergeResult,
    mergeRank,
    pairs: new PairTable(0, { lefts, rights, values }),
    wholeTokens: new BytesIdTable(blob, offsets, 0, wholeSlots),
  };
}

/** Reads the tables in file order as views; the first one that does not fit sets `problem` (later ones come back empty). */
class TableReader {
  problem: string | undefined;
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
    private readonly lengths: Partial<Record<TableName, number>>,
  ) {}
  private take(name: TableName, width: number): number {
    const n = this.lengths[name];
    if (this.problem !== undefined) return -1;
    if (n === undefined || !Number.isInteger(n) || n < 0 || this.at + n * width > this.bytes.byteLength) {
      this.problem = `table ${name} does not fit the file`;
      return -1;
    }
    const start = this.bytes.byteOffset + this.at;
    this.at += align8(n * width);
    return start;
  }
  u8(name: TableName): Uint8Array {
    const start = this.take(name, 1);
    return start < 0 ? new Uint8Array(0) : new Uint8Array(this.bytes.buffer, start, this.lengths[name]);
  }
  u32(name: TableName): Uint32Array {
    const start = this.take(name, 4);
    return start < 0 ? new Uint32Array(0) : new Uint32Array(this.bytes.buffer, start, this.lengths[name]);
  }
  i32(name: TableName): Int32Array {
    const start = this.take(name, 4);
    return start < 0 ? new Int32Array(0) : new Int32Array(this.bytes.buffer, start, this.lengths[name]);
  }
}

/** The folder compiled vocabularies are kept in, or null when the cache is off. */
export function vocabularyCacheDir(): string | null {
  const configured = process.env.KILN_TOKENIZER_CACHE;
  if (configured === "off") return null;
  // Per user: a file another account could write is never mapped.
  return configured || path.join(os.tmpdir(), `kiln-tokenizers-${process.getuid?.() ?? "user"}`);
}

export interface CompiledLoad {
  compiled: CompiledBpe;
  /** "file": read from the cache; "built": compiled now (and saved when the cache is on). */
  from: "file" | "built";
  /** Why an existing file was not used (rebuilt), when that happened. */
  rejected?: string;
}

/** The compiled vocabulary for `key` from the cache folder, else built by `build` and saved there. */
export async function loadCompiledVocabulary(key: string, build: () => Promise<CompiledBpe>, dir: string | null = vocabularyCacheDir()): Promise<CompiledLoad> {
  if (dir === null) return { compiled: await build(), from: "built" };
  const file = path.join(dir, `${key.replace(/[^A-Za-z0-9._-]/g, "_")}.kbpe`);
  let rejected: string | undefined;
  const data = await readFile(file).catch(() => undefined);
  if (data) {
    const parsed = parseCompiled(data);
    if (typeof parsed !== "string") return { compiled: parsed, from: "file" };
    rejected = parsed;
  }
  const compiled = await build();
  await saveQuietly(file, serializeCompiled(compiled));
  return { compiled, from: "built", ...(rejected ? { rejected } : {}) };
}

/** Writes the file under a temporary name and renames it; a cache that cannot be written is skipped (the vocabulary is then built per process). */
async function saveQuietly(file: string, data: Buffer): Promise<void> {
  const temp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(temp, data);
    await rename(temp, file);
  } catch {
    await rm(temp, { force: true }).catch(() => {});
  }
}
