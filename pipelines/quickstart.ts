/**
 * The quickstart pipeline: the embedded sample corpora → download (materialised as JSONL) →
 * normalize with exact dedup, one step per source → consolidate, one step per source → a table of
 * documents and UTF-8 text bytes per source at each stage. Run it with `npm start` (or
 * `node bin/kiln.mjs run pipelines/quickstart.ts`); a second run skips every step and prints the
 * same table from the stored results. `datakitSteps()` builds the same steps for other pipelines,
 * which add dedup, quality, tokenize, train and eval steps on top of `consolidated` (or of
 * `normalized`, feeding attribute datasets into their own consolidate steps).
 */
import { pipeline } from "../src/index.ts";
import { consolidateStep, type ConsolidateFilter, type ConsolidateResult } from "../src/steps/consolidate/index.ts";
import { downloadStep, type DownloadResult } from "../src/steps/download/index.ts";
import { normalizeStep, type NormalizeResult } from "../src/steps/normalize/index.ts";
import { BUILTIN_SOURCES } from "../src/steps/sources/index.ts";
import type { InputSpec } from "../src/graph/step.ts";

/**
 * The sources `npm start` processes: every built-in embedded source (about 40 MB as JSONL; the whole
 * run takes about 20 s on 2 cores). KILN_QUICKSTART_SOURCES (comma-separated names) picks others.
 */
export const QUICKSTART_SOURCES = BUILTIN_SOURCES.map((s) => s.name);

export interface DatakitOptions {
  sources: string[];
  /** Attribute datasets and filters for the consolidate steps (none in the quickstart). */
  attributes?: (source: string) => Record<string, InputSpec>;
  filters?: ConsolidateFilter[];
  threads?: number;
}

/** The download step, and one normalize and one consolidate step per source, keyed by source name. */
export function datakitSteps(opts: DatakitOptions) {
  const download = downloadStep({ name: "download/embedded", sources: opts.sources });
  const normalized = Object.fromEntries(
    opts.sources.map((s) => [s, normalizeStep({ name: `normalized/${s}`, input: download, sources: [s], dedup: "exact", threads: opts.threads })]),
  );
  const consolidated = Object.fromEntries(
    opts.sources.map((s) => [
      s,
      consolidateStep({ name: `consolidated/${s}`, input: normalized[s], attributes: opts.attributes?.(s), filters: opts.filters, threads: opts.threads }),
    ]),
  );
  return { download, normalized, consolidated };
}

function chosenSources(): string[] {
  const env = process.env.KILN_QUICKSTART_SOURCES;
  if (!env) return QUICKSTART_SOURCES;
  return env.split(",").map((s) => s.trim()).filter(Boolean);
}

type Outcome = { name: string; result: unknown };

/** Rows of the stage table: per source, documents and text bytes downloaded, normalized, deduplicated, consolidated. */
export function stageRows(sources: string[], outcomes: ReadonlyArray<Outcome>): string[][] {
  const result = <R>(name: string) => outcomes.find((o) => o.name === name)?.result as R | undefined;
  const rows: string[][] = [];
  const totals = new Array(8).fill(0);
  for (const s of sources) {
    const n = result<NormalizeResult>(`normalized/${s}`)?.bySource[s];
    const c = result<ConsolidateResult>(`consolidated/${s}`)?.bySource[s];
    const cells = [n?.read.documents, n?.read.bytes, n?.normalized.documents, n?.normalized.bytes, n?.kept.documents, n?.kept.bytes, c?.kept.documents, c?.kept.bytes];
    cells.forEach((v, i) => (totals[i] += v ?? 0));
    rows.push([s, ...cells.map((v) => (v === undefined ? "-" : String(v)))]);
  }
  rows.push(["total", ...totals.map(String)]);
  return rows;
}

export function formatStageTable(rows: string[][]): string {
  const header = ["source", "downloaded docs", "bytes", "normalized docs", "bytes", "exact-dedup docs", "bytes", "consolidated docs", "bytes"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const sources = chosenSources();
export const steps = datakitSteps({ sources });

export default pipeline({
  name: "quickstart",
  steps: [steps.download, ...Object.values(steps.normalized), ...Object.values(steps.consolidated)],
  report: (outcomes) => {
    const download = outcomes.find((o) => o.name === "download/embedded")?.result as DownloadResult | undefined;
    const files = download?.files.length ?? 0;
    console.log(`\nquickstart: ${sources.length} sources, ${files} downloaded files (bytes = UTF-8 text bytes)\n`);
    console.log(formatStageTable(stageRows(sources, outcomes)));
  },
});
