/**
 * The sidecar of one map task: a JSON file `{"body": {...}, "checksum": "<XXH64 hex>"}` where the
 * checksum covers `JSON.stringify(body)`. The body names the data file (relative to the sidecar's
 * folder), the codec, the number of partitions, whether entries carry a sort key, buffer-sizing
 * facts (largest frame compressed and uncompressed) and, per non-empty partition, its frames as
 * `[offset, length, rows, rawLength, checksum, run]`: each flush of a partition is one sorted run cut
 * into frames, listed in order, so a reader merges runs and streams each run frame by frame. Writing the sidecar is a map task's commit point;
 * readers only ever look at committed sidecars.
 */
import { fileSystemFor, joinPath } from "../io/index.ts";
import { ShuffleCorruptError } from "./errors.ts";
import { FRAME_CODECS, checksumOf, type FrameCodec, type FrameRef } from "./frame.ts";

/** 3: frame and sidecar checksums are XXH64 (2 had XXH3-64); a sidecar of another format is refused. */
export const SIDECAR_FORMAT = "kiln-shuffle-sidecar/3";
export const SIDECAR_SUFFIX = ".sidecar.json";

type FrameTuple = [offset: number, length: number, rows: number, rawLength: number, checksum: string, run: number];

export interface SidecarBody {
  format: typeof SIDECAR_FORMAT;
  /** How the data file's frames are stored (`msgpack`: uncompressed, written to local disk). */
  codec: FrameCodec;
  mapTask: string;
  attempt: string;
  /** Data file name, relative to the sidecar's folder. */
  dataFile: string;
  dataBytes: number;
  numPartitions: number;
  hasSortKey: boolean;
  rows: number;
  maxFrameLength: number;
  maxFrameRawLength: number;
  partitions: Record<string, { rows: number; rawBytes: number; runs: number; frames: FrameTuple[] }>;
}

/** A parsed and verified sidecar. */
export interface MapOutput {
  sidecarPath: string;
  dataPath: string;
  body: SidecarBody;
}

export function sidecarPathFor(outputDir: string, mapTask: string): string {
  return joinPath(outputDir, `map-${mapTask}${SIDECAR_SUFFIX}`);
}

export function serializeSidecar(body: SidecarBody): string {
  const text = JSON.stringify(body);
  return `{"body":${text},"checksum":"${checksumOf(Buffer.from(text))}"}\n`;
}

export function toFrameTuple(ref: FrameRef): FrameTuple {
  return [ref.offset, ref.length, ref.rows, ref.rawLength, ref.checksum, ref.run ?? 0];
}

export function framesOf(body: SidecarBody, partition: number): FrameRef[] {
  const part = body.partitions[String(partition)];
  if (!part) return [];
  return part.frames.map(([offset, length, rows, rawLength, checksum, run]) => ({ offset, length, rows, rawLength, checksum, run }));
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and verifies sidecar bytes read from `file`; any defect throws ShuffleCorruptError. */
export function parseSidecar(file: string, bytes: Buffer): SidecarBody {
  let parsed: { body?: SidecarBody; checksum?: string };
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    const offset = at ? Number(at[1]) : bytes.length;
    throw new ShuffleCorruptError(file, offset, `sidecar is not complete JSON (${bytes.length} bytes read): ${(err as Error).message}`, { cause: err });
  }
  const body = parsed?.body;
  if (!body || typeof parsed.checksum !== "string") {
    throw new ShuffleCorruptError(file, 0, "sidecar lacks its body or checksum");
  }
  // The format first: another version's sidecar is named as such, not as a checksum mismatch.
  if (body.format !== SIDECAR_FORMAT || !FRAME_CODECS.includes(body.codec)) {
    throw new ShuffleCorruptError(file, 0, `unsupported sidecar format ${body.format} / codec ${body.codec} (this kiln reads ${SIDECAR_FORMAT} / ${FRAME_CODECS.join(" or ")})`);
  }
  const text = JSON.stringify(body);
  const sum = checksumOf(Buffer.from(text));
  if (sum !== parsed.checksum) {
    throw new ShuffleCorruptError(file, 8, `sidecar checksum ${sum} does not match recorded ${parsed.checksum}`);
  }
  if (!isCount(body.numPartitions) || body.numPartitions < 1 || typeof body.dataFile !== "string") {
    throw new ShuffleCorruptError(file, 0, "sidecar has no valid numPartitions or dataFile");
  }
  for (const [p, part] of Object.entries(body.partitions)) {
    for (const f of part.frames) {
      const ok = Array.isArray(f) && f.length === 6 && isCount(f[0]) && isCount(f[1]) && isCount(f[2]) && isCount(f[3]) && isCount(f[5]);
      if (!ok || f[0] + f[1] > body.dataBytes) {
        throw new ShuffleCorruptError(file, 0, `partition ${p} lists an invalid frame ${JSON.stringify(f)}`);
      }
    }
  }
  return body;
}

/** Reads, verifies and resolves one committed sidecar. */
export async function readSidecar(sidecarPath: string): Promise<MapOutput> {
  const bytes = await fileSystemFor(sidecarPath).read(sidecarPath);
  const body = parseSidecar(sidecarPath, bytes);
  const dir = sidecarPath.slice(0, sidecarPath.lastIndexOf("/") + 1) || "./";
  return { sidecarPath, dataPath: `${dir}${body.dataFile}`, body };
}

/** The committed sidecars below a shuffle folder, sorted by path. */
export async function listMapOutputs(outputDir: string): Promise<string[]> {
  const files = await fileSystemFor(outputDir).list(outputDir);
  return files.map((f) => f.path).filter((p) => p.endsWith(SIDECAR_SUFFIX));
}

/**
 * Deletes data files in a shuffle folder that no committed sidecar references (attempts that were
 * killed, or superseded by a retry). Call it only once every map task of the stage has finished, or
 * a running attempt's data file could be removed before it commits. Returns the deleted paths.
 */
export async function removeUncommittedData(outputDir: string): Promise<string[]> {
  const fs = fileSystemFor(outputDir);
  const files = await fs.list(outputDir);
  const referenced = new Set<string>();
  for (const f of files.filter((x) => x.path.endsWith(SIDECAR_SUFFIX))) referenced.add((await readSidecar(f.path)).dataPath);
  const orphans = files.map((f) => f.path).filter((p) => /\.attempt-[^/]+\.data$/.test(p) && !referenced.has(p));
  for (const p of orphans) await fs.delete(p);
  return orphans;
}
