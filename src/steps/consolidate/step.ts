/**
 * The consolidate step: a streaming merge join of a normalized source with any number of attribute
 * datasets co-partitioned with it (same relative part names, each file sorted by id, ids a subset
 * of its source part's), applying the configured filters and writing the kept documents as parquet
 * parts with the source's names (`outputs/main/part-NNNNN-of-MMMMM.parquet`). Fraction filters need
 * a global score cut: a first pass builds a mergeable quantile sketch (sketch.ts) per part, merges
 * them, and records the cut in the result. Parts run as tasks on a worker-thread pool when there
 * are several. The result holds per-filter removed counts and per-source documents and bytes.
 */
import { availableParallelism } from "node:os";
import { createTaskPool } from "../task-pool.ts";
import { step, type InputSpec } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { joinPath } from "../../io/index.ts";
import { expandInputs } from "../../io/formats.ts";
import { ConsolidateError } from "./errors.ts";
import { filterName, resolveFilters, validateFilters, type ConsolidateFilter, type FractionFilter } from "./filters.ts";
import { QuantileSketch, type SketchJson } from "./sketch.ts";
import {
  consolidateTask,
  findAttributeFile,
  sketchTask,
  type ConsolidateTaskInput,
  type ConsolidateTaskOutput,
  type DocBytes,
  type SketchTaskInput,
} from "./tasks.ts";

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
  /** Worker threads (default: every core); 0 runs inline. */
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

function partStem(relative: string): string {
  return relative.replace(/\.(parquet|jsonl\.zst)$/, "");
}

async function sourceParts(input: { path: string; stepPath: string; result: unknown }): Promise<string[]> {
  const listed = (input.result as { files?: unknown } | null)?.files;
  if (input.path === input.stepPath && Array.isArray(listed) && listed.every((f) => typeof f === "string" && /part-\d+-of-\d+\./.test(f))) {
    return listed as string[];
  }
  const base = input.path.replace(/\/+$/, "");
  const splits = await expandInputs(joinPath(base, DEFAULT_SOURCE_FILES), { splitBytes: Number.MAX_SAFE_INTEGER });
  return splits.map((s) => s.path.slice(base.length + 1));
}

export function consolidateStep(opts: ConsolidateOptions) {
  const filters = validateFilters(opts.filters ?? []);
  const datasets = opts.attributes ?? {};
  for (const f of filters) {
    if (Object.keys(datasets).length === 0) {
      throw new ConsolidateError(`filter '${filterName(f)}' needs attributes, but no attribute datasets are given`, "pass attributes: { name: step, ... }");
    }
  }
  return step({
    name: opts.name,
    description: `consolidate with ${filters.length} filter(s) over ${Object.keys(datasets).length} attribute dataset(s)`,
    config: {
      schema: versioned(CONSOLIDATED_SCHEMA_VERSION),
      filters: versioned(filters),
      sketchAccuracy: versioned(opts.sketchAccuracy ?? 0.005),
      threads: opts.threads ?? null,
    },
    inputs: { source: opts.input, ...Object.fromEntries(Object.entries(datasets).map(([k, v]) => [`attr_${k}`, v])) } as Record<string, InputSpec>,
    run: async (ctx): Promise<ConsolidateResult> => {
      const inputs = ctx.inputs as Record<string, { path: string; stepPath: string; result: unknown }>;
      const cfgFilters = ctx.config.filters as ConsolidateFilter[];
      const parts = await sourceParts(inputs.source);
      if (parts.length === 0) throw new ConsolidateError(`no source parts in ${inputs.source.path}`, "consolidate the output of a normalize step");
      const threads = (ctx.config.threads as number | null) ?? availableParallelism();
      const pool = createTaskPool(new URL("./worker.mjs", import.meta.url), threads, ctx.signal);
      try {
        // Locate every attribute file first, so a missing one fails before any work.
        const attributeFiles: Record<string, string>[] = [];
        for (const part of parts) {
          const files: Record<string, string> = {};
          for (const name of Object.keys(datasets)) files[name] = await findAttributeFile(inputs[`attr_${name}`].path, partStem(part), name);
          attributeFiles.push(files);
        }
        const fractions = cfgFilters.filter((f): f is FractionFilter => f.type === "fraction");
        const cuts: Record<string, number> = {};
        if (fractions.length > 0) {
          const attrs = [...new Set(fractions.map((f) => f.attribute))];
          const sketchTasks: SketchTaskInput[] = attributeFiles.map((files) => ({ attributeFiles: Object.values(files), attributes: attrs, accuracy: ctx.config.sketchAccuracy as number }));
          const sketches = await pool.runAll<SketchTaskInput, Record<string, SketchJson>>(sketchTasks, "sketchTask", sketchTask);
          const merged = Object.fromEntries(attrs.map((a) => [a, new QuantileSketch(ctx.config.sketchAccuracy as number)]));
          for (const s of sketches) for (const a of attrs) merged[a].merge(QuantileSketch.fromJSON(s[a]));
          for (const f of fractions) {
            const sketch = merged[f.attribute];
            if (sketch.count === 0) throw new ConsolidateError(`fraction filter '${filterName(f)}': no document has a numeric '${f.attribute}'`, "check the attribute name and the attribute datasets");
            cuts[filterName(f)] = sketch.quantile((f.highest ?? true) ? 1 - f.keep : f.keep);
          }
        }
        const resolved = resolveFilters(cfgFilters, cuts);
        const outFiles = parts.map((p) => `${partStem(p)}.parquet`);
        const tasks: ConsolidateTaskInput[] = parts.map((p, i) => ({
          sourceFile: joinPath(inputs.source.path, p),
          attributeFiles: attributeFiles[i],
          filters: resolved,
          outputFile: ctx.path(outFiles[i]),
        }));
        const results = await pool.runAll<ConsolidateTaskInput, ConsolidateTaskOutput>(tasks, "consolidateTask", consolidateTask);
        const removed: Record<string, number> = Object.fromEntries(resolved.map((f) => [f.name, 0]));
        const bySource: ConsolidateResult["bySource"] = {};
        let emptyText = 0;
        for (const r of results) {
          for (const [k, v] of Object.entries(r.removed)) removed[k] += v;
          emptyText += r.emptyText;
          for (const which of ["input", "kept"] as const) {
            for (const [s, v] of Object.entries(r[which])) {
              const slot = (bySource[s] ??= { input: { documents: 0, bytes: 0 }, kept: { documents: 0, bytes: 0 } });
              slot[which].documents += v.documents;
              slot[which].bytes += v.bytes;
            }
          }
        }
        const sum = (which: "input" | "kept", f: keyof DocBytes) => Object.values(bySource).reduce((s, v) => s + v[which][f], 0);
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
          bySource: Object.fromEntries(Object.entries(bySource).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        };
      } finally {
        await pool.destroy();
      }
    },
  });
}
