/**
 * The consolidate step: a streaming merge join of a normalized source with any number of attribute
 * datasets co-partitioned with it (same relative part names, each file sorted by id, ids a subset
 * of its source part's), applying the configured filters and writing the kept documents as parquet
 * parts with the source's names (`outputs/main/part-NNNNN-of-MMMMM.parquet`). Fraction filters need
 * a global score cut: a first pass builds a mergeable quantile sketch (sketch.ts) per part, merges
 * them, and records the cut in the result. It runs as Dataset plans on the engine: the source parts
 * (one shard each) outer-joined in turn with each attribute dataset's files of the same names,
 * filtered, and written with the parts' names. The result holds per-filter removed counts and
 * per-source documents and bytes.
 */
import { Dataset, fn, runDataset, type ExecutionResult } from "../../dataset/index.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { fileSystemFor, joinPath } from "../../io/index.ts";
import { expandInputs } from "../../io/formats.ts";
import {
  CONSOLIDATE_FUNCTIONS as F,
  applyFilters,
  attributeId,
  gather,
  gatheredId,
  mergeAttributes,
  sketchAttributes,
  type AttributeRecord,
} from "./consolidate-functions.ts";
import { CoPartitionError, ConsolidateError } from "./errors.ts";
import { filterName, resolveFilters, validateFilters, type ConsolidateFilter, type FractionFilter } from "./filters.ts";
import { QuantileSketch, type SketchJson } from "./sketch.ts";

export const CONSOLIDATED_SCHEMA_VERSION = "kiln-consolidated/1";
const DEFAULT_SOURCE_FILES = "outputs/main/part-*-of-*.{parquet,jsonl.zst}";

export interface ConsolidateOptions {
  name: string;
  /** A normalize step (its result lists the parts) or any step holding outputs/main/part-* files. */
  input: InputSpec;
  /** Attribute datasets by name: steps (or sub-paths) whose folders hold files named like the source's parts. */
  attributes?: Record<string, InputSpec>;
  filters?: ConsolidateFilter[];
  /** Relative accuracy of the quantile sketch used by fraction filters (default 0.005). */
  sketchAccuracy?: number;
  /** Worker threads (default: the run's shared pool of every core); 0 runs in the step's thread. */
  threads?: number;
}

export interface ConsolidateResult {
  schemaVersion: typeof CONSOLIDATED_SCHEMA_VERSION;
  files: string[];
  inputDocuments: number;
  documents: number;
  bytes: number;
  /** Documents removed, by filter name (the first filter that rejected each). */
  removed: Record<string, number>;
  /** Documents dropped because their text was empty. */
  emptyText: number;
  /** Score cut of each fraction filter (documents at or beyond it are kept). */
  cuts: Record<string, number>;
  bySource: Record<string, { input: DocBytes; kept: DocBytes }>;
}

export interface DocBytes {
  documents: number;
  bytes: number;
}

function partStem(relative: string): string {
  return relative.replace(/\.(parquet|jsonl\.zst)$/, "");
}

async function sourceParts(input: { path: string; stepPath: string; result: unknown }): Promise<string[]> {
  const result = input.result;
  const listed = typeof result === "object" && result !== null && "files" in result ? result.files : undefined;
  if (input.path === input.stepPath && Array.isArray(listed) && listed.every((f): f is string => typeof f === "string" && /part-\d+-of-\d+\./.test(f))) {
    return listed;
  }
  const base = input.path.replace(/\/+$/, "");
  const splits = await expandInputs(joinPath(base, DEFAULT_SOURCE_FILES), { splitBytes: Number.MAX_SAFE_INTEGER });
  return splits.map((s) => s.path.slice(base.length + 1));
}

/** Finds `<dir>/<stem>.parquet` or `<dir>/<stem>.jsonl.zst`; fails naming both when neither exists. */
export async function findAttributeFile(dir: string, relativeStem: string, dataset: string): Promise<string> {
  const base = `${dir.replace(/\/+$/, "")}/${relativeStem}`;
  for (const ext of [".parquet", ".jsonl.zst"]) {
    if (await fileSystemFor(base + ext).exists(base + ext)) return base + ext;
  }
  throw new CoPartitionError(
    `attribute dataset '${dataset}' has no file for source part ${relativeStem} (looked for ${base}.parquet and ${base}.jsonl.zst)`,
    "attribute datasets must be co-partitioned with the source: one file per source part, with the same relative name",
  );
}

/** Per-source input and kept tables from the user counters `<stage>.documents:<source>` / `<stage>.bytes:<source>`. */
function bySourceOf(user: Record<string, number>): ConsolidateResult["bySource"] {
  const out: ConsolidateResult["bySource"] = {};
  for (const [name, n] of Object.entries(user)) {
    const m = /^(input|kept)\.(documents|bytes):(.*)$/.exec(name);
    if (!m) continue;
    const slot = (out[m[3]] ??= { input: { documents: 0, bytes: 0 }, kept: { documents: 0, bytes: 0 } });
    slot[m[1] === "input" ? "input" : "kept"][m[2] === "documents" ? "documents" : "bytes"] += n;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function consolidateStep(opts: ConsolidateOptions) {
  const filters = validateFilters(opts.filters ?? []);
  const datasets = opts.attributes ?? {};
  for (const f of filters) {
    if (Object.keys(datasets).length === 0) {
      throw new ConsolidateError(`filter '${filterName(f)}' needs attributes, but no attribute datasets are given`, "pass attributes: { name: step, ... }");
    }
  }
  const stepInputs: Record<string, InputSpec> = { source: opts.input, ...Object.fromEntries(Object.entries(datasets).map(([k, v]) => [`attr_${k}`, v])) };
  return step({
    name: opts.name,
    description: `consolidate with ${filters.length} filter(s) over ${Object.keys(datasets).length} attribute dataset(s)`,
    config: {
      schema: versioned(CONSOLIDATED_SCHEMA_VERSION),
      filters: versioned(filters),
      sketchAccuracy: versioned(opts.sketchAccuracy ?? 0.005),
      threads: opts.threads ?? null,
    },
    inputs: stepInputs,
    run: async (ctx): Promise<ConsolidateResult> => {
      const cfg = ctx.config;
      const inputs = ctx.inputs;
      const source = inputs.source;
      const parts = await sourceParts(source);
      if (parts.length === 0) throw new ConsolidateError(`no source parts in ${source.path}`, "consolidate the output of a normalize step");
      const threads = cfg.threads ?? undefined;
      // Locate every attribute file first, so a missing one fails before any work.
      const attributeFiles: Record<string, string[]> = {};
      for (const name of Object.keys(datasets)) {
        const dir = inputs[`attr_${name}`].path;
        // Looked up at once; a failure names the first missing part in part order, whichever lookup ended first.
        const found = await Promise.allSettled(parts.map((part) => findAttributeFile(dir, partStem(part), name)));
        attributeFiles[name] = found.map((f) => {
          if (f.status === "rejected") throw f.reason;
          return f.value;
        });
      }
      const cuts = await fractionCuts(ctx, cfg.filters, attributeFiles, cfg.sketchAccuracy, threads);
      const resolved = resolveFilters(cfg.filters, cuts);
      let gathered = Dataset.read(parts.map((p) => joinPath(source.path, p))).map(fn(F, gather));
      for (const [name, files] of Object.entries(attributeFiles)) {
        gathered = gathered
          .sortedMergeJoin(Dataset.read<AttributeRecord>(files), { leftKey: fn(F, gatheredId), rightKey: fn(F, attributeId), how: "outer" })
          .map(fn(F, mergeAttributes, { dataset: name, files }));
      }
      const outFiles = parts.map((p) => `${partStem(p)}.parquet`);
      const write = gathered.flatMap(fn(F, applyFilters, { filters: resolved })).write(ctx.path(outputPattern(outFiles)));
      const { counters } = await runDataset(ctx, write, { threads, label: "consolidate" });
      const user = counters.user;
      const removed: Record<string, number> = Object.fromEntries(resolved.map((f) => [f.name, user[`removed:${f.name}`] ?? 0]));
      const bySource = bySourceOf(user);
      const sum = (which: "input" | "kept", f: keyof DocBytes) => Object.values(bySource).reduce((s, v) => s + v[which][f], 0);
      const emptyText = user.emptyText ?? 0;
      ctx.counters.increment("documents_in", sum("input", "documents"));
      ctx.counters.increment("documents_out", sum("kept", "documents"));
      ctx.counters.increment("empty_text_dropped", emptyText);
      for (const [k, v] of Object.entries(removed)) ctx.counters.increment(`removed:${k}`, v);
      return {
        schemaVersion: CONSOLIDATED_SCHEMA_VERSION,
        files: outFiles,
        inputDocuments: sum("input", "documents"),
        documents: sum("kept", "documents"),
        bytes: sum("kept", "bytes"),
        removed,
        emptyText,
        cuts,
        bySource,
      };
    },
  });
}

/** The output pattern whose shard i is `outFiles[i]` (part names of the form part-NNNNN-of-MMMMM). */
function outputPattern(outFiles: string[]): string {
  const first = outFiles[0];
  const pattern = first.replace(/part-\d+-of-\d+\.parquet$/, "part-{shard}-of-{total}.parquet");
  if (pattern === first) throw new ConsolidateError(`source part ${first} is not named part-NNNNN-of-MMMMM`, "consolidate the output of a normalize step");
  return pattern;
}

/** The score cut of each fraction filter, from quantile sketches of its attribute merged over every part. */
async function fractionCuts(
  ctx: Parameters<typeof runDataset>[0],
  filters: ConsolidateFilter[],
  attributeFiles: Record<string, string[]>,
  accuracy: number,
  threads: number | undefined,
): Promise<Record<string, number>> {
  const fractions = filters.filter((f): f is FractionFilter => f.type === "fraction");
  const cuts: Record<string, number> = {};
  if (fractions.length === 0) return cuts;
  const attributes = [...new Set(fractions.map((f) => f.attribute))];
  const sketches = Dataset.read<AttributeRecord>(Object.values(attributeFiles).flat()).mapShard(fn(F, sketchAttributes, { attributes, accuracy }));
  const { rows }: ExecutionResult<{ rows: Record<string, SketchJson>[] }> = await runDataset(ctx, sketches, { threads, label: "sketch", progress: false });
  const merged = Object.fromEntries(attributes.map((a) => [a, new QuantileSketch(accuracy)]));
  for (const s of rows) for (const a of attributes) merged[a].merge(QuantileSketch.fromJSON(s[a]));
  for (const f of fractions) {
    const sketch = merged[f.attribute];
    if (sketch.count === 0) throw new ConsolidateError(`fraction filter '${filterName(f)}': no document has a numeric '${f.attribute}'`, "check the attribute name and the attribute datasets");
    cuts[filterName(f)] = sketch.quantile((f.highest ?? true) ? 1 - f.keep : f.keep);
  }
  return cuts;
}

