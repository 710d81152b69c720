/**
 * Content hashes of a step output's rows, to compare outputs across executors and versions: every
 * parquet (or jsonl/jsonl.zst) file below a folder is read with kiln's readers, each row written as
 * JSON with its keys sorted at every depth, the lines sorted, and the sha256 of the whole taken. The
 * result does not depend on file names, part boundaries, row order or column order.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { expandInputs, readSplit } from "../../src/io/formats.ts";

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined && v !== null).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Rows and hash of the data files directly in `folder`. */
export async function hashRows(folder: string): Promise<{ rows: number; sha256: string }> {
  if (!existsSync(folder)) return { rows: 0, sha256: "missing" };
  const files = readdirSync(folder).filter((f) => /\.(parquet|jsonl|jsonl\.zst)$/.test(f) && statSync(path.join(folder, f)).isFile());
  const lines: string[] = [];
  for (const f of files) {
    for (const split of await expandInputs(path.join(folder, f), { splitBytes: Number.MAX_SAFE_INTEGER })) {
      for await (const batch of readSplit(split)) for (const row of batch.rows) lines.push(sortedJson(row));
    }
  }
  lines.sort();
  const hash = createHash("sha256");
  for (const l of lines) hash.update(l + "\n");
  return { rows: lines.length, sha256: hash.digest("hex") };
}

/** The output folder of a step under a prefix: `<prefix>/<name>-<hash8>`. */
export function stepFolder(prefix: string, name: string): string {
  const parent = path.join(prefix, path.dirname(name));
  const leaf = path.basename(name);
  const found = (existsSync(parent) ? readdirSync(parent) : []).find((d) => d.startsWith(`${leaf}-`) && /^[0-9a-f]{8}$/.test(d.slice(leaf.length + 1)));
  if (!found) throw new Error(`no output folder of step ${name} in ${parent}`);
  return path.join(parent, found);
}

/** Hashes of the data steps of the quickstart's datakit for `sources`: normalize main and dups, the attribute sets, consolidated. */
export async function datakitHashes(prefix: string, sources: string[]): Promise<Record<string, { rows: number; sha256: string }>> {
  const out: Record<string, { rows: number; sha256: string }> = {};
  // A step the pipeline did not have (quality without positive and negative sources) hashes as "missing".
  const folder = (name: string, ...below: string[]) => {
    try {
      return path.join(stepFolder(prefix, name), ...below);
    } catch {
      return path.join(prefix, "(missing)");
    }
  };
  for (const s of sources) {
    out[`normalized/${s}/main`] = await hashRows(folder(`normalized/${s}`, "outputs/main"));
    out[`normalized/${s}/dups`] = await hashRows(folder(`normalized/${s}`, "outputs/dups"));
    out[`dedup/${s}`] = await hashRows(folder("dedup/minhash", s, "outputs/main"));
    out[`quality/${s}`] = await hashRows(folder("quality/classifier", s, "outputs/main"));
    out[`consolidated/${s}`] = await hashRows(folder(`consolidated/${s}`, "outputs/main"));
  }
  return out;
}
