/**
 * Sorted runs on local disk for the reducer's external sort. A spill folder is created per read
 * under the OS temp folder (or a given one) and removed when the read ends, whether it succeeded,
 * failed or was abandoned; its name carries the reader's pid, so that a reader killed outright has
 * its leftovers removed by the next read that spills in the same folder. A run is a file of chunks
 * of encoded entries (frame.ts; stored uncompressed unless KILN_SHUFFLE_ZSTD_LEVEL says otherwise);
 * its chunk table stays in memory, and reading it back holds one decoded chunk at a time.
 */
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { checksumOf, codecFor, compressFrame, decodeFrameSlices, encodeEntry, frameLevel, type FrameCodec, type FrameRef, type ShuffleEntry } from "./frame.ts";
import { FrameEntry } from "./frame-entry.ts";
import { processIsAlive } from "../util/process.ts";

export interface RunFile {
  path: string;
  codec: FrameCodec;
  chunks: FrameRef[];
  rows: number;
  bytes: number;
}

const SPILL_PREFIX = "kiln-shuffle-spill-";


/** Removes spill folders left in `parent` by readers whose process no longer exists. */
export async function removeStaleSpillDirs(parent: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(parent).catch(() => [] as string[])) {
    const m = new RegExp(`^${SPILL_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !processIsAlive(Number(m[1]))) {
      await fsp.rm(path.join(parent, name), { recursive: true, force: true });
      removed.push(path.join(parent, name));
    }
  }
  return removed;
}

export async function createSpillDir(parent?: string): Promise<string> {
  const root = parent ?? os.tmpdir();
  await fsp.mkdir(root, { recursive: true });
  await removeStaleSpillDirs(root);
  return fsp.mkdtemp(path.join(root, `${SPILL_PREFIX}${process.pid}-`));
}

export async function removeSpillDir(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
}

/** Writes sorted entry batches to a new run file, `chunkBytes` of encoded entries per chunk. */
export async function writeRun<T>(
  file: string,
  batches: AsyncIterable<ShuffleEntry<T>[]>,
  hasSort: boolean,
  chunkBytes: number,
): Promise<RunFile> {
  const level = frameLevel(true);
  const handle = await fsp.open(file, "wx");
  const run: RunFile = { path: file, codec: codecFor(level), chunks: [], rows: 0, bytes: 0 };
  let parts: Buffer[] = [];
  let partBytes = 0;
  const flush = async (): Promise<void> => {
    if (parts.length === 0) return;
    const raw = Buffer.concat(parts);
    const frame = compressFrame(raw, level);
    await handle.write(frame, 0, frame.length, run.bytes);
    run.chunks.push({ offset: run.bytes, length: frame.length, rows: parts.length, rawLength: raw.length, checksum: checksumOf(frame) });
    run.rows += parts.length;
    run.bytes += frame.length;
    parts = [];
    partBytes = 0;
  };
  try {
    for await (const batch of batches) {
      for (const e of batch) {
        const bytes = e instanceof FrameEntry ? e.encoded() : encodeEntry(e.key, e.sort, e.record, hasSort);
        parts.push(bytes);
        partBytes += bytes.length;
        if (partBytes >= chunkBytes) await flush();
      }
    }
    await flush();
  } finally {
    await handle.close();
  }
  return run;
}

/** Reads a run back one chunk at a time, decoded in slices. */
export async function* readRun<T>(run: RunFile, hasSort: boolean): AsyncGenerator<ShuffleEntry<T>[]> {
  const handle = await fsp.open(run.path, "r");
  try {
    for (const chunk of run.chunks) {
      const buf = Buffer.allocUnsafe(chunk.length);
      const { bytesRead } = await handle.read(buf, 0, chunk.length, chunk.offset);
      yield* decodeFrameSlices<T>(run.path, buf.subarray(0, bytesRead), chunk, run.codec, hasSort);
    }
  } finally {
    await handle.close();
  }
}
