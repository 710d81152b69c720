/**
 * The bytes a JSONL split is read from: a whole file streamed (so that backends verify its
 * checksum), a byte range of a plain file plus what it takes to finish its last line, or the
 * decompressed stream of a whole .zst/.gz file. Storage failures become StorageError and decoder
 * failures CorruptFileError, both naming the file.
 * A chunk is valid only until the next one is asked for: local files are read, and .zst files
 * decompressed, into one block that is handed on and then read over (see READ_BLOCK); a split that
 * ends leaves its blocks and zstd context to the thread's next splits.
 */
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { KilnError } from "../errors.ts";
import { StorageError, type FileReader, type FileSystem } from "./filesystem.ts";
import { CorruptFileError, type InputSplit } from "./format-types.ts";
import { zstdBinding, type DecompressionContext } from "./zstd-binding.ts";

const READ_CHUNK = 8 << 20;
/**
 * A local file is read block by block into one buffer of this size. A stream makes a fresh 1 MiB
 * buffer per read, and on this machine the fresh pages cost more than the read: 300 MB from the
 * page cache took 0.30-0.33 s (0.27-0.28 s of it in the kernel, 19 k page faults) against 0.03 s
 * into one reused buffer.
 */
const READ_BLOCK = 1 << 20;
/**
 * Decompressed .zst bytes are handed on in blocks of this size. zstd-napi's DecompressStream makes a
 * 128 KiB Buffer per output block and passes each through a Node Transform stream, whose async
 * iterator joins whatever blocks are waiting into one more Buffer: two copies and the stream
 * machinery per block, where this loop decodes straight into the block it hands on.
 */
const ZSTD_BLOCK = READ_BLOCK;
const GZIP_BLOCK = 1 << 20;

const { DCtx, ResetDirective } = zstdBinding;

/**
 * Blocks (READ_BLOCK and ZSTD_BLOCK are one size) and zstd contexts that finished splits leave for
 * the next splits this thread reads, a few of each. A fresh block, and a fresh context's window
 * (2 MiB for the zstd tool's default level), had their memory faulted in anew for every split, and
 * a fault of a fresh page costs about 12 us here: counting the rows of 27 .zst files (570 MB
 * decompressed) on two worker threads took 74-76 k faults and 4.0-4.1 CPU-s, now 45-49 k and 3.6-3.8.
 */
const SPARES_KEPT = 4;
const spareBlocks: Buffer[] = [];
const spareContexts: DecompressionContext[] = [];

function takeBlock(): Buffer {
  return spareBlocks.pop() ?? Buffer.allocUnsafeSlow(READ_BLOCK);
}

/** A block no chunk handed on lies in any more (its split has ended). */
function leaveBlock(block: Buffer): void {
  if (spareBlocks.length < SPARES_KEPT) spareBlocks.push(block);
}

function takeContext(): DecompressionContext {
  return spareContexts.pop() ?? new DCtx();
}

/** A context whose split has ended, however it ended: its frame state is dropped, its window kept. */
function leaveContext(context: DecompressionContext): void {
  if (spareContexts.length >= SPARES_KEPT) return;
  context.reset(ResetDirective.sessionOnly);
  spareContexts.push(context);
}

function storageFailure(err: unknown, path: string): Error {
  if (err instanceof KilnError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError(`reading ${path} failed: ${detail}`, "check that the file exists and is readable", { cause: err });
}

/**
 * Bytes [start, end) of a file of `size` bytes, streamed where the backend can, else read in ranges.
 * A whole file is streamed without a range, so that backends verify its checksum.
 */
function openRange(fs: FileSystem, path: string, start: number, end: number, size: number): Readable {
  if (fs.readStream) return start === 0 && end >= size ? fs.readStream(path) : fs.readStream(path, { start, end });
  return Readable.from(
    (async function* () {
      for (let pos = start; pos < end; ) {
        const chunk = await fs.readRange(path, pos, Math.min(READ_CHUNK, end - pos));
        if (chunk.length === 0) return;
        yield chunk;
        pos += chunk.length;
      }
    })(),
  );
}

/**
 * Bytes [start, end) of a file (to its end when `end` is undefined), in chunks valid until the next
 * is asked for: a local file read into one reused block, other backends streamed (openRange).
 */
async function* fileChunks(fs: FileSystem, path: string, start: number, end: number | undefined, size: number): AsyncGenerator<Buffer> {
  if (fs.scheme !== "file" || !fs.openReader) {
    yield* streamChunks(openRange(fs, path, start, end ?? size, size), path);
    return;
  }
  let reader: FileReader;
  try {
    reader = await fs.openReader(path);
  } catch (err) {
    throw storageFailure(err, path);
  }
  const block = takeBlock();
  try {
    for (let pos = start; end === undefined || pos < end; ) {
      const want = end === undefined ? READ_BLOCK : Math.min(READ_BLOCK, end - pos);
      let got: number;
      try {
        got = await reader.read(block.subarray(0, want), pos);
      } catch (err) {
        throw storageFailure(err, path);
      }
      if (got === 0) return;
      yield block.subarray(0, got);
      pos += got;
    }
  } finally {
    leaveBlock(block);
    await reader.close();
  }
}

async function* streamChunks(stream: Readable, path: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw storageFailure(err, path);
  } finally {
    stream.destroy();
  }
}

/** Where a decoder failure came from: the storage under it, or the compressed bytes. */
function decodeFailure(err: unknown, sourceError: unknown, split: InputSplit): Error {
  if (sourceError !== undefined) return storageFailure(sourceError, split.path);
  const kind = split.format === "jsonl.zst" ? "zstd" : "gzip";
  return new CorruptFileError(split.path, `${kind} stream: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/**
 * Decompressed bytes of a whole .zst file, decoded by one zstd context into one ZSTD_BLOCK-sized
 * block that is handed on each time it fills and then written over (any number of frames, as the
 * zstd tool writes and concatenates them). zstd keeps no reference to its input between calls.
 */
async function* zstdChunks(fs: FileSystem, split: InputSplit): AsyncGenerator<Buffer> {
  const dctx = takeContext();
  const block = takeBlock();
  try {
    yield* decompressInto(dctx, block, fs, split);
  } finally {
    leaveContext(dctx);
    leaveBlock(block);
  }
}

async function* decompressInto(dctx: DecompressionContext, block: Buffer, fs: FileSystem, split: InputSplit): AsyncGenerator<Buffer> {
  let filled = 0;
  // True while a frame is incomplete: input that ends there is truncated.
  let inFrame = false;
  for await (const input of fileChunks(fs, split.path, 0, undefined, split.size)) {
    let src: Buffer = input;
    for (;;) {
      let produced: number;
      let consumed: number;
      try {
        let left: number;
        [left, produced, consumed] = dctx.decompressStream(block.subarray(filled), src);
        inFrame = left !== 0;
      } catch (err) {
        throw decodeFailure(err, undefined, split);
      }
      filled += produced;
      src = src.subarray(consumed);
      if (filled === block.length) {
        // The block is full: hand it on; the decoder may hold more output for the same input.
        yield block;
        filled = 0;
      } else if (src.length === 0) {
        break;
      }
    }
  }
  if (inFrame) throw decodeFailure(new Error("the file ends inside a compressed frame"), undefined, split);
  if (filled > 0) yield block.subarray(0, filled);
}

/**
 * Decompressed bytes of a whole .gz file; decoder failures become CorruptFileError. zlib hands on
 * 1 MiB blocks (its default is 16 KiB, each a push through the stream and, when several wait, a join
 * by its async iterator): reading 150 MB of .jsonl.gz took about a quarter less CPU.
 */
async function* gzipChunks(fs: FileSystem, split: InputSplit): AsyncGenerator<Buffer> {
  const source = openRange(fs, split.path, 0, split.size, split.size);
  const decoder = createGunzip({ chunkSize: GZIP_BLOCK });
  let sourceError: unknown;
  source.on("error", (err) => {
    sourceError = err;
    decoder.destroy(err);
  });
  source.pipe(decoder);
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } catch (err) {
    throw decodeFailure(err, sourceError, split);
  } finally {
    source.destroy();
    decoder.destroy();
  }
}

/** The bytes a plain split needs: [start-1 or 0, end), then more in growing ranges to finish the last line. */
async function* plainSplitChunks(fs: FileSystem, split: InputSplit): AsyncGenerator<Buffer> {
  const from = split.start > 0 ? split.start - 1 : 0;
  yield* fileChunks(fs, split.path, from, split.end, split.size);
  let pos = split.end;
  let want = 64 << 10;
  while (pos < split.size) {
    let chunk: Buffer;
    try {
      chunk = await fs.readRange(split.path, pos, want);
    } catch (err) {
      throw storageFailure(err, split.path);
    }
    if (chunk.length === 0) return;
    yield chunk;
    pos += chunk.length;
    want = Math.min(want * 2, 4 << 20);
  }
}

/** True when the split is a byte range of a plain file rather than a whole file. */
export function isRanged(split: InputSplit): boolean {
  return split.format === "jsonl" && (split.start > 0 || split.end < split.size);
}

/**
 * The split's bytes, starting at `from`: byte 0 for whole files (decompressed for .zst/.gz), or
 * start - 1 for a byte range starting past 0 (the reader drops through the first newline, the tail
 * of a line the previous range owns).
 */
export function splitBytes(fs: FileSystem, split: InputSplit): { from: number; chunks: AsyncGenerator<Buffer> } {
  if (split.format !== "jsonl") return { from: 0, chunks: split.format === "jsonl.zst" ? zstdChunks(fs, split) : gzipChunks(fs, split) };
  if (isRanged(split)) return { from: split.start > 0 ? split.start - 1 : 0, chunks: plainSplitChunks(fs, split) };
  return { from: 0, chunks: fileChunks(fs, split.path, 0, undefined, split.size) };
}
