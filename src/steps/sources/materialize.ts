/**
 * Writing an embedded source out as data files: `<outDir>/<name>/part-NNNNN-of-MMMMM.jsonl` (or
 * `.jsonl.zst`), one JSON record per line with `id` (xxh3-128 of the text as written), `text`,
 * `source`, `source_id` and the reader's metadata. Records are never dropped here, even empty ones:
 * dropping and counting is the normalize step's job. Embedded sources are bounded (tens of MB), so
 * parts are assembled in memory and then each is written atomically; the folder is cleared first so
 * parts of an earlier, differently split run never mix with these.
 */
import { createHash } from "node:crypto";
import { compress } from "zstd-napi";
import { fileSystemFor, joinPath, type FileSystem } from "../../io/index.ts";
import { documentId } from "../text/normalize.ts";
import { readBrown } from "./brown.ts";
import { readNlpCorpus } from "./nlp-corpus.ts";
import { SourceError, validateSource, type EmbeddedReaderName, type EmbeddedSourceSpec, type SourceRecord, type SourceSpec } from "./registry.ts";
import { readSourceCode } from "./source-code.ts";
import { readSpamAssassin } from "./spam-assassin.ts";

const READERS: Record<EmbeddedReaderName, (spec: EmbeddedSourceSpec) => AsyncIterable<SourceRecord>> = {
  brown: readBrown,
  "spam-assassin": readSpamAssassin,
  "nlp-corpus": readNlpCorpus,
  "source-code": readSourceCode,
};

const DEFAULT_RECORDS_PER_PART = 2000;
const MAX_PART_BYTES = 64 * 1024 * 1024;

export interface MaterializedFile {
  /** Full path of the written file. */
  path: string;
  bytes: number;
  /** sha256 (hex) of the written bytes. */
  sha256: string;
  records: number;
}

export interface MaterializedSource {
  source: string;
  records: number;
  files: MaterializedFile[];
}

/** The records of an embedded source, in their stable order. */
export function readEmbeddedSource(spec: EmbeddedSourceSpec): AsyncIterable<SourceRecord> {
  validateSource(spec);
  return READERS[spec.reader](spec);
}

export function partFileName(index: number, total: number, compressed: boolean): string {
  const pad = (n: number): string => String(n).padStart(5, "0");
  return `part-${pad(index)}-of-${pad(total)}.jsonl${compressed ? ".zst" : ""}`;
}

/** Writes an embedded source below `outDir/<name>/` and lists what it wrote. */
export async function materializeSource(
  spec: SourceSpec,
  outDir: string,
  options: { fs?: FileSystem; signal?: AbortSignal } = {},
): Promise<MaterializedSource> {
  validateSource(spec);
  if (spec.kind !== "embedded") {
    throw new SourceError(
      `source '${spec.name}' is a '${spec.kind}' source, not an embedded one`,
      "fetch url, file and gs sources with downloadStep({ sources: [...] })",
    );
  }
  const fs = options.fs ?? fileSystemFor(outDir);
  const perPart = spec.recordsPerPart ?? DEFAULT_RECORDS_PER_PART;
  const parts: { lines: string[]; bytes: number }[] = [{ lines: [], bytes: 0 }];
  let records = 0;
  for await (const record of readEmbeddedSource(spec)) {
    options.signal?.throwIfAborted();
    const line = JSON.stringify({ id: documentId(record.text), ...record });
    let part = parts[parts.length - 1];
    if (part.lines.length >= perPart || part.bytes >= MAX_PART_BYTES) {
      part = { lines: [], bytes: 0 };
      parts.push(part);
    }
    part.lines.push(line);
    part.bytes += line.length + 1;
    records++;
  }
  const folder = joinPath(outDir, spec.name);
  await fs.deleteTree(folder);
  const files: MaterializedFile[] = [];
  const compressed = spec.compress === true;
  for (let i = 0; i < parts.length; i++) {
    const lines = parts[i].lines;
    const text = lines.length ? `${lines.join("\n")}\n` : "";
    const raw = Buffer.from(text, "utf8");
    const data = compressed ? compress(raw, { compressionLevel: 3 }) : raw;
    const file = joinPath(folder, partFileName(i, parts.length, compressed));
    await fs.writeAtomic(file, data);
    files.push({ path: file, bytes: data.length, sha256: createHash("sha256").update(data).digest("hex"), records: lines.length });
  }
  return { source: spec.name, records, files };
}
