/**
 * Token shards: the binary files the tokenize step writes and the trainer (Python, memory-mapped)
 * reads. Format, all little-endian:
 *
 *   offset  size  field
 *   0       8     magic "KILNTOK\0" (ASCII, NUL-terminated)
 *   8       4     u32 version = 1
 *   12      4     u32 dtype: 2 = uint16 tokens, 4 = uint32 tokens
 *   16      8     u64 token count
 *   24      8     u64 reserved = 0
 *   32      ...   `count` tokens of `dtype` bytes each; the file ends right after them
 *
 * uint16 is used when the vocabulary has at most 65536 ids, uint32 otherwise. The writer streams
 * batches to a temporary sibling and renames it into place on close (other filesystems: buffered
 * and written atomically), so a reader never sees a partial shard. The reader checks every header
 * field and the length and returns a typed-array view of the tokens.
 */
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { endianness } from "node:os";
import { KilnError } from "../errors.ts";
import { fileSystemFor, schemeOf } from "./index.ts";

/** A token shard whose header or length does not match the KILNTOK format, or a token that does not fit it. */
export class TokenShardError extends KilnError {
  constructor(path: string, message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_TOKEN_SHARD", `${path}: ${message}`, hint, options);
  }
}

export const TOKEN_SHARD_MAGIC = "KILNTOK\0";
export const TOKEN_SHARD_VERSION = 1;
export const TOKEN_SHARD_HEADER_BYTES = 32;

export type TokenDtype = 2 | 4;

export interface TokenShard {
  dtype: TokenDtype;
  count: number;
  tokens: Uint16Array | Uint32Array;
}

const LITTLE_ENDIAN_HOST = endianness() === "LE";
const FLUSH_BYTES = 1 << 20;

/** The token width for a vocabulary: 2 bytes up to 65536 ids, else 4. */
export function dtypeForVocabSize(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 2 : 4;
}

/** Encodes the 32-byte header. */
export function encodeTokenShardHeader(dtype: TokenDtype, count: number): Buffer {
  const header = Buffer.alloc(TOKEN_SHARD_HEADER_BYTES);
  header.write(TOKEN_SHARD_MAGIC, 0, "latin1");
  header.writeUInt32LE(TOKEN_SHARD_VERSION, 8);
  header.writeUInt32LE(dtype, 12);
  header.writeBigUInt64LE(BigInt(count), 16);
  header.writeBigUInt64LE(0n, 24);
  return header;
}

export interface TokenShardWriteResult {
  path: string;
  tokens: number;
  bytes: number;
}

/** Streams token batches into one shard; call `close()` to publish it or `abort()` to drop it. */
export class TokenShardWriter {
  readonly path: string;
  readonly dtype: TokenDtype;
  private readonly vocabSize: number;
  private readonly file: FileHandle | undefined;
  private readonly tempPath: string | undefined;
  /** Tokens not yet written, gathered in one reused chunk of FLUSH_BYTES (no allocation per append). */
  private chunk: Uint16Array | Uint32Array;
  private chunkLength = 0;
  private written: Buffer[] = [];
  private count = 0;
  private fileOffset = TOKEN_SHARD_HEADER_BYTES;
  private closed = false;

  private constructor(path: string, vocabSize: number, file?: FileHandle, tempPath?: string) {
    this.path = path;
    this.vocabSize = vocabSize;
    this.dtype = dtypeForVocabSize(vocabSize);
    this.chunk = this.dtype === 2 ? new Uint16Array(FLUSH_BYTES / 2) : new Uint32Array(FLUSH_BYTES / 4);
    this.file = file;
    this.tempPath = tempPath;
  }

  /** Opens a writer for a vocabulary of `vocabSize` ids (ids 0 .. vocabSize-1). */
  static async open(path: string, options: { vocabSize: number }): Promise<TokenShardWriter> {
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 2 ** 32) {
      throw new TokenShardError(path, `vocabSize ${vocabSize} is not between 1 and 2^32`, "pass the tokenizer's vocabSize");
    }
    if (schemeOf(path) !== "file") return new TokenShardWriter(path, vocabSize);
    const local = path.startsWith("file://") ? new URL(path).pathname : path;
    await mkdir(dirname(local), { recursive: true });
    const tempPath = `${local}.kiln-tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
    const file = await open(tempPath, "w");
    await file.write(encodeTokenShardHeader(dtypeForVocabSize(vocabSize), 0), 0, TOKEN_SHARD_HEADER_BYTES, 0);
    return new TokenShardWriter(path, vocabSize, file, tempPath);
  }

  /** Appends a batch; every id must be an integer below vocabSize. */
  async append(tokens: ArrayLike<number>): Promise<void> {
    if (this.closed) throw new TokenShardError(this.path, "append after close", "open a new writer");
    // Uint32Array ids are integers and not negative: only the upper bound needs checking.
    const bad = tokens instanceof Uint32Array ? firstAtOrAbove(tokens, this.vocabSize) : firstNonId(tokens, this.vocabSize);
    if (bad >= 0) {
      throw new TokenShardError(
        this.path,
        `token ${tokens[bad]} at position ${this.count + bad} is not an id below vocabSize ${this.vocabSize}`,
        "write ids produced by the tokenizer whose vocabSize opened this shard",
      );
    }
    const ids = tokens instanceof Uint32Array || tokens instanceof Uint16Array ? tokens : Uint32Array.from(tokens);
    this.count += ids.length;
    for (let from = 0; from < ids.length; ) {
      const take = Math.min(ids.length - from, this.chunk.length - this.chunkLength);
      this.chunk.set(from === 0 && take === ids.length ? ids : ids.subarray(from, from + take), this.chunkLength);
      this.chunkLength += take;
      from += take;
      if (this.chunkLength === this.chunk.length) await this.flush();
    }
  }

  /** Writes the gathered chunk (little-endian) to the file, or keeps a copy for an atomic write on close; the chunk is then reused. */
  private async flush(): Promise<void> {
    if (this.chunkLength === 0) return;
    const bytes = Buffer.from(this.chunk.buffer, 0, this.chunkLength * this.dtype);
    if (!LITTLE_ENDIAN_HOST) (this.dtype === 2 ? bytes.swap16() : bytes.swap32());
    this.chunkLength = 0;
    if (this.file) {
      await this.file.write(bytes, 0, bytes.length, this.fileOffset);
      this.fileOffset += bytes.length;
    } else {
      this.written.push(Buffer.from(bytes));
    }
  }

  /** Writes the final header and publishes the shard under its name. */
  async close(): Promise<TokenShardWriteResult> {
    if (this.closed) throw new TokenShardError(this.path, "closed twice", "close a writer once");
    await this.flush();
    this.closed = true;
    const header = encodeTokenShardHeader(this.dtype, this.count);
    const bytes = TOKEN_SHARD_HEADER_BYTES + this.count * this.dtype;
    if (this.file && this.tempPath) {
      await this.file.write(header, 0, header.length, 0);
      await this.file.sync();
      await this.file.close();
      const local = this.path.startsWith("file://") ? new URL(this.path).pathname : this.path;
      await rename(this.tempPath, local);
    } else {
      await fileSystemFor(this.path).writeAtomic(this.path, [header, ...this.written]);
      this.written = [];
    }
    return { path: this.path, tokens: this.count, bytes };
  }

  /** Drops the shard: nothing is published. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.chunkLength = 0;
    this.written = [];
    if (this.file && this.tempPath) {
      await this.file.close();
      await rm(this.tempPath, { force: true });
    }
  }
}

function firstAtOrAbove(ids: Uint32Array, limit: number): number {
  for (let i = 0; i < ids.length; i++) if (ids[i] >= limit) return i;
  return -1;
}

function firstNonId(ids: ArrayLike<number>, limit: number): number {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < limit && Number.isInteger(id))) return i;
  }
  return -1;
}

/** Writes one whole shard. */
export async function writeTokenShard(path: string, tokens: ArrayLike<number>, vocabSize: number): Promise<TokenShardWriteResult> {
  const writer = await TokenShardWriter.open(path, { vocabSize });
  try {
    await writer.append(tokens);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return writer.close();
}

/** Reads a shard from any kiln filesystem path. */
export async function readTokenShard(path: string): Promise<TokenShard> {
  return parseTokenShard(await fileSystemFor(path).read(path), path);
}

/** Checks the header and length of shard bytes and returns a view of the tokens. */
export function parseTokenShard(data: Uint8Array, path: string): TokenShard {
  const corrupt = (problem: string): never => {
    throw new TokenShardError(path, problem, "the file is not a complete kiln token shard: rewrite it (re-run the tokenize step)");
  };
  if (data.length < TOKEN_SHARD_HEADER_BYTES) corrupt(`only ${data.length} bytes, shorter than the 32-byte header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = Buffer.from(data.buffer, data.byteOffset, 8).toString("latin1");
  if (magic !== TOKEN_SHARD_MAGIC) corrupt(`bad magic ${JSON.stringify(magic)} (expected "KILNTOK\\0")`);
  const version = view.getUint32(8, true);
  if (version !== TOKEN_SHARD_VERSION) corrupt(`unsupported version ${version} (expected 1)`);
  const dtype = view.getUint32(12, true);
  if (dtype !== 2 && dtype !== 4) corrupt(`bad dtype ${dtype} (expected 2 or 4)`);
  const count = view.getBigUint64(16, true);
  if (view.getBigUint64(24, true) !== 0n) corrupt("reserved header field is not 0");
  const expected = BigInt(TOKEN_SHARD_HEADER_BYTES) + count * BigInt(dtype);
  if (expected !== BigInt(data.length)) {
    corrupt(`header says ${count} tokens (${expected} bytes) but the file has ${data.length} bytes`);
  }
  const n = Number(count);
  const start = data.byteOffset + TOKEN_SHARD_HEADER_BYTES;
  const aligned = start % dtype === 0 && LITTLE_ENDIAN_HOST;
  const Ctor = dtype === 2 ? Uint16Array : Uint32Array;
  if (aligned) return { dtype: dtype as TokenDtype, count: n, tokens: new Ctor(data.buffer as ArrayBuffer, start, n) };
  const tokens = new Ctor(n);
  for (let i = 0; i < n; i++) {
    tokens[i] = dtype === 2 ? view.getUint16(32 + i * 2, true) : view.getUint32(32 + i * 4, true);
  }
  return { dtype: dtype as TokenDtype, count: n, tokens };
}
