/**
 * The normalized-source convention that the attribute steps (MinHash dedup, quality) build on, and
 * their output layout. A normalized source folder holds `part-NNNNN-of-MMMMM.parquet` files, every
 * index 0..M-1 present, each sorted by `id`, a document with id X living in part `partitionOf(X, M)`.
 * An attribute step writes, for every source part, a file of the same name under
 * `<step output>/<source name>/outputs/main/`, with records `{id, attributes}` sorted by id whose
 * ids are a subset of that part's ids. Also: node keys that tell apart the same id in two sources.
 */
import { fileSystemFor, joinPath } from "../../io/index.ts";
import { KilnError } from "../../errors.ts";
import { isStep, type InputSpec, type StepRef } from "../../graph/step.ts";
import { partitionOf } from "../../shuffle/index.ts";

/** A normalized source does not follow the part-file convention, or a record breaks it. */
export class SourceLayoutError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_SOURCE_LAYOUT", message, hint);
  }
}

export interface SourcePart {
  /** Full path of the part file. */
  readonly path: string;
  /** File name, e.g. part-00003-of-00008.parquet (the attribute file gets the same name). */
  readonly fileName: string;
  readonly index: number;
  readonly total: number;
  readonly size: number;
}

export interface NormalizedSource {
  readonly name: string;
  /** The folder holding the part files. */
  readonly dir: string;
  readonly parts: readonly SourcePart[];
  /** M: the number of parts, the partition count of its ids. */
  readonly numParts: number;
}

const PART_RE = /^part-(\d{5})-of-(\d{5})\.parquet$/;
const SOURCE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Checks a source name used as a folder name under an attribute step's output. */
export function checkSourceName(name: string, where: string): string {
  if (!SOURCE_NAME_RE.test(name)) {
    throw new SourceLayoutError(`${where}: source name ${JSON.stringify(name)} cannot be a folder name`, "name sources with letters, digits, '.', '_' or '-'");
  }
  return name;
}

/**
 * The input reference of a normalized source: a step means its `outputs/main` folder; a sub-path
 * reference (`step.output("some/folder")`) is taken as the folder of part files itself.
 */
export function sourceInput(spec: InputSpec): StepRef<any> {
  return isStep(spec) ? spec.output("outputs/main") : spec;
}

/** Lists and validates the part files of one normalized source folder. */
export async function listSourceParts(name: string, dir: string): Promise<NormalizedSource> {
  const fs = fileSystemFor(dir);
  const prefix = dir.replace(/\/+$/, "") + "/";
  const files = (await fs.list(prefix)).filter((f) => !f.path.slice(prefix.length).includes("/"));
  const parts: SourcePart[] = [];
  for (const f of files) {
    const fileName = f.path.slice(prefix.length);
    const m = PART_RE.exec(fileName);
    if (!m) continue;
    parts.push({ path: f.path, fileName, index: Number(m[1]), total: Number(m[2]), size: f.size });
  }
  if (parts.length === 0) {
    throw new SourceLayoutError(
      `source '${name}': no part-NNNNN-of-MMMMM.parquet files in ${dir}`,
      "point the input at a normalized source step (its outputs/main folder holds the part files)",
    );
  }
  const total = parts[0].total;
  for (const p of parts) {
    if (p.total !== total || p.index >= total) {
      throw new SourceLayoutError(
        `source '${name}': ${p.path} does not fit a set of ${total} parts (${parts[0].fileName})`,
        "a source's parts must all be part-i-of-M for one M; rerun the normalize step into a clean folder",
      );
    }
  }
  parts.sort((a, b) => a.index - b.index);
  if (parts.length !== total) {
    const have = new Set(parts.map((p) => p.index));
    const missing = [...Array(total).keys()].filter((i) => !have.has(i)).slice(0, 5);
    throw new SourceLayoutError(
      `source '${name}': ${dir} has ${parts.length} of ${total} parts (missing index ${missing.join(", ")})`,
      "the normalize step must write every part, even empty ones",
    );
  }
  return { name, dir, parts, numParts: total };
}

/** Relative path of the attribute file of one source part under an attribute step's output. */
export function attributeFilePath(sourceName: string, part: SourcePart): string {
  return `${sourceName}/outputs/main/${part.fileName}`;
}

/** Absolute folder of a source's attribute files. */
export function attributeDir(outputPath: string, sourceName: string): string {
  return joinPath(outputPath, sourceName, "outputs", "main");
}

const NODE_KEY_WIDTH = 4;

/**
 * Graph node of a document: its source's index (zero-padded, so code-unit order is source order)
 * and its id. The same id in two sources (an exact copy) is two nodes, so exactly one stays
 * canonical; the minimum node key of a cluster is the document from the earliest-listed source
 * with the smallest id.
 */
export function nodeKey(sourceIndex: number, id: string): string {
  return `${String(sourceIndex).padStart(NODE_KEY_WIDTH, "0")}:${id}`;
}

export function parseNodeKey(key: string): { sourceIndex: number; id: string } {
  return { sourceIndex: Number(key.slice(0, NODE_KEY_WIDTH)), id: key.slice(NODE_KEY_WIDTH + 1) };
}

/**
 * A checker of one source part's records, in order: each must have a non-empty string id and a
 * string text, ids strictly increasing, and (when the file is named part-i-of-M) the id must belong
 * in part i, i.e. partitionOf(id, M) = i. `where` names the file being read; a new file starts over.
 */
export function sourceRecordChecker(): (row: unknown, file: string, rowNumber: number) => { id: string; text: string } {
  let previous: string | undefined;
  let current = "";
  let part: { index: number; total: number } | undefined;
  return (row, file, rowNumber) => {
    if (file !== current) {
      current = file;
      previous = undefined;
      const m = /part-(\d{5})-of-(\d{5})\.parquet$/.exec(file);
      part = m ? { index: Number(m[1]), total: Number(m[2]) } : undefined;
    }
    const r = row !== null && typeof row === "object" ? row : {};
    const id = "id" in r ? r.id : undefined;
    const text = "text" in r ? r.text : undefined;
    if (typeof id !== "string" || id.length === 0) {
      throw new SourceLayoutError(`${file}, row ${rowNumber}: field "id" is ${JSON.stringify(id)}, not a non-empty string`, "normalize the source so every record has a string id");
    }
    if (typeof text !== "string") {
      throw new SourceLayoutError(`${file}, row ${rowNumber} (id ${id}): field "text" is ${text === null ? "null" : typeof text}, not a string`, "normalize the source so every record has a string text");
    }
    if (previous !== undefined && !(previous < id)) {
      throw new SourceLayoutError(
        `${file}, row ${rowNumber}: id ${id} ${previous === id ? "repeats" : "comes after"} ${previous}; part files must be sorted by id without repeats`,
        "rerun the normalize step (it sorts each part by id and drops exact repeats)",
      );
    }
    if (part && partitionOf(id, part.total) !== part.index) {
      throw new SourceLayoutError(
        `${file}, row ${rowNumber}: id ${id} belongs in part ${partitionOf(id, part.total)} of ${part.total}, not ${part.index}`,
        "documents must be placed by partitionOf(id, M) (src/shuffle); rerun the normalize step",
      );
    }
    previous = id;
    return { id, text };
  };
}
