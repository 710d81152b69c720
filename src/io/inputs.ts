/**
 * Turning input patterns into splits: `formatOf` names a file's format from its extension, the glob
 * matcher (`*`, `**`, `?`, `{a,b}`) runs once per pattern over one `list` of the pattern's literal
 * folder (local or `gs://`), and `expandInputs` returns the matches with sizes, sorted, cutting plain
 * JSONL files larger than `splitBytes` into byte-range splits. Compressed and parquet files are never
 * cut: they stay one split each.
 */
import { fileSystemFor, type FileSystem } from "./filesystem.ts";
import { NoInputMatchError, UnknownFormatError, type Format, type InputSplit } from "./format-types.ts";

export const DEFAULT_SPLIT_BYTES = 64 * 1024 * 1024;

/** The format of `path` by extension: .jsonl/.json/.ndjson, then .zst or .gz on top; .parquet. */
export function formatOf(path: string): Format {
  const name = path.toLowerCase().replace(/[?#].*$/, "");
  if (name.endsWith(".parquet")) return "parquet";
  if (name.endsWith(".zst")) return "jsonl.zst";
  if (name.endsWith(".gz")) return "jsonl.gz";
  if (/\.(jsonl|json|ndjson)$/.test(name)) return "jsonl";
  throw new UnknownFormatError(path);
}

const GLOB_CHARS = /[*?{]/;

export function hasGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/** Translates a glob into an anchored RegExp over full paths. `**` spans folders; others do not. */
export function globToRegExp(glob: string): RegExp {
  let i = 0;
  const parse = (insideBraces: boolean): string => {
    let out = "";
    while (i < glob.length) {
      const c = glob[i];
      if (insideBraces && (c === "," || c === "}")) return out;
      i++;
      if (c === "*") {
        if (glob[i] === "*") {
          i++;
          if (glob[i] === "/") {
            i++;
            out += "(?:.*/)?"; // `a/**/b` also matches `a/b`
          } else {
            out += ".*";
          }
        } else {
          out += "[^/]*";
        }
      } else if (c === "?") {
        out += "[^/]";
      } else if (c === "{") {
        const options: string[] = [];
        for (;;) {
          options.push(parse(true));
          const sep = glob[i++];
          if (sep === "}") break;
          if (sep !== ",") throw new NoInputMatchError(`${glob} (unclosed '{')`);
        }
        out += `(?:${options.join("|")})`;
      } else {
        out += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
      }
    }
    return out;
  };
  return new RegExp(`^${parse(false)}$`);
}

/** The folder part of `pattern` before its first segment with a glob character. */
function literalFolder(pattern: string): string {
  const first = pattern.search(GLOB_CHARS);
  const cut = pattern.lastIndexOf("/", first);
  return cut < 0 ? "" : pattern.slice(0, cut);
}

async function matchPattern(pattern: string, fs: FileSystem): Promise<{ path: string; size: number }[]> {
  if (!hasGlob(pattern)) {
    const st = await fs.stat(pattern);
    return st ? [{ path: pattern, size: st.size }] : [];
  }
  const folder = literalFolder(pattern);
  const regex = globToRegExp(pattern);
  if (folder === "") {
    // Relative pattern in the current folder: list "." and match without the "./" prefix.
    const listed = await fs.list(".");
    return listed
      .map((f) => ({ path: f.path.replace(/^\.\//, ""), size: f.size }))
      .filter((f) => regex.test(f.path));
  }
  return (await fs.list(folder)).filter((f) => regex.test(f.path));
}

/**
 * Expands glob patterns once into input splits with sizes: the patterns in the order given, each
 * one's matches in path order, a file matched again left where it first came. Plain JSONL and
 * parquet files larger than `splitBytes` become several byte-range splits, in byte order: a JSONL
 * range owns the lines that start in it (readJsonlSplit), a parquet range the row groups whose first
 * page starts in it (readParquetSplit), so that a large file is read by several tasks at once.
 */
export async function expandInputs(
  patterns: string | string[],
  opts: { splitBytes?: number; fs?: FileSystem } = {},
): Promise<InputSplit[]> {
  const splitBytes = Math.max(1, Math.floor(opts.splitBytes ?? DEFAULT_SPLIT_BYTES));
  const files = new Map<string, number>();
  for (const pattern of Array.isArray(patterns) ? patterns : [patterns]) {
    const matches = await matchPattern(pattern, opts.fs ?? fileSystemFor(pattern));
    if (matches.length === 0) throw new NoInputMatchError(pattern);
    for (const m of matches.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) if (!files.has(m.path)) files.set(m.path, m.size);
  }
  const splits: InputSplit[] = [];
  for (const [path, size] of files) {
    const format = formatOf(path);
    if ((format !== "jsonl" && format !== "parquet") || size <= splitBytes) {
      splits.push({ path, format, size, start: 0, end: size });
      continue;
    }
    const pieces = Math.ceil(size / splitBytes);
    for (let k = 0; k < pieces; k++) {
      const start = Math.floor((size * k) / pieces);
      const end = Math.floor((size * (k + 1)) / pieces);
      splits.push({ path, format, size, start, end });
    }
  }
  return splits;
}
