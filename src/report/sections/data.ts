/**
 * Report section "Data": documents and text bytes per source at each stage (downloaded files,
 * read, normalized, kept after exact dedup, kept after consolidation), as tables and grouped bar
 * charts, and what each consolidate filter removed. Steps are recognised by their result's shape
 * (results.ts); a stage whose step has not finished shows "-" and is left out of the charts.
 */
import type { RunReportData } from "../gather.ts";
import { formatBytes } from "../format.ts";
import { categoryAxis, titledFrame } from "../charts.ts";
import { chartHtml, noteHtml, tableHtml, type Cell, type ChartSpec, type Section } from "../html.ts";
import { consolidateResultSchema, downloadResultSchema, normalizeResultSchema, resultAs } from "../results.ts";

interface DocBytes {
  documents: number;
  bytes: number;
}

interface SourceRow {
  files?: { count: number; bytes: number };
  read?: DocBytes;
  normalized?: DocBytes;
  kept?: DocBytes;
  duplicates?: DocBytes;
  consolidatedIn?: DocBytes;
  consolidated?: DocBytes;
}

type Stage = "read" | "normalized" | "kept" | "consolidated";
const STAGES: Array<{ key: Stage; label: string }> = [
  { key: "read", label: "read" },
  { key: "normalized", label: "normalized" },
  { key: "kept", label: "after exact dedup" },
  { key: "consolidated", label: "after consolidate" },
];

function add(into: DocBytes | undefined, v: DocBytes): DocBytes {
  return { documents: (into?.documents ?? 0) + v.documents, bytes: (into?.bytes ?? 0) + v.bytes };
}

/** Per source, the numbers of every finished download, normalize and consolidate step (summed when several report a source). */
export function sourceTable(data: RunReportData): Map<string, SourceRow> {
  const rows = new Map<string, SourceRow>();
  const row = (s: string) => rows.get(s) ?? rows.set(s, {}).get(s)!;
  for (const step of data.steps) {
    const result = step.info?.result;
    const download = resultAs(downloadResultSchema, result);
    for (const f of download?.files ?? []) {
      const r = row(f.source);
      r.files = { count: (r.files?.count ?? 0) + 1, bytes: (r.files?.bytes ?? 0) + f.bytes };
    }
    const normalized = resultAs(normalizeResultSchema, result);
    for (const [source, v] of Object.entries(normalized?.bySource ?? {})) {
      const r = row(source);
      r.read = add(r.read, v.read);
      r.normalized = add(r.normalized, v.normalized);
      r.kept = add(r.kept, v.kept);
      r.duplicates = add(r.duplicates, v.duplicates);
    }
    const consolidated = resultAs(consolidateResultSchema, result);
    for (const [source, v] of Object.entries(consolidated?.bySource ?? {})) {
      const r = row(source);
      r.consolidatedIn = add(r.consolidatedIn, v.input);
      r.consolidated = add(r.consolidated, v.kept);
    }
  }
  return new Map([...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const dash = (v: number | undefined): Cell => (v === undefined ? { html: "-", className: "num" } : v);
const bytesCell = (v: number | undefined): Cell => ({ html: v === undefined ? "-" : formatBytes(v), className: "num" });

function stageChart(id: string, title: string, sources: string[], rows: Map<string, SourceRow>, pick: (d: DocBytes) => number): ChartSpec {
  return {
    id,
    height: 300,
    option: {
      ...titledFrame(title, { top: 64 }),
      xAxis: categoryAxis(sources),
      yAxis: { type: "value" },
      series: STAGES.map((stage) => ({
        type: "bar",
        name: stage.label,
        barMaxWidth: 48,
        data: sources.map((s) => {
          const v = rows.get(s)?.[stage.key];
          return v ? pick(v) : null;
        }),
      })),
    },
  };
}

function filterPart(data: RunReportData): { html: string; charts: ChartSpec[] } {
  const steps = data.steps.flatMap((step) => {
    const r = resultAs(consolidateResultSchema, step.info?.result);
    return r ? [{ name: step.name, result: r }] : [];
  });
  if (!steps.length) return { html: noteHtml("No consolidate step has finished: nothing to show about filters."), charts: [] };
  const filters = [...new Set(steps.flatMap((s) => Object.keys(s.result.removed)))];
  const hasEmpty = steps.some((s) => (s.result.emptyText ?? 0) > 0);
  const columns = [...filters, ...(hasEmpty ? ["empty text"] : [])];
  const removedBy = (s: (typeof steps)[number], column: string) => (column === "empty text" ? (s.result.emptyText ?? 0) : (s.result.removed[column] ?? 0));
  const rows: Cell[][] = steps.map((s) => [
    s.name,
    Object.keys(s.result.bySource).join(", "),
    dash(s.result.inputDocuments ?? sumDocs(s.result.bySource, "input")),
    ...columns.map((c) => removedBy(s, c)),
    dash(s.result.documents ?? sumDocs(s.result.bySource, "kept")),
  ]);
  const chart: ChartSpec = {
    id: "chart-filters",
    height: Math.max(220, steps.length * 28 + 100),
    option: {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 16, right: 30, top: 40, bottom: 36, containLabel: true },
      xAxis: { type: "value", name: "documents removed", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "category", inverse: true, data: steps.map((s) => s.name) },
      series: columns.map((c) => ({ type: "bar", name: c, stack: "removed", data: steps.map((s) => removedBy(s, c)) })),
    },
  };
  const header: Cell[] = ["consolidate step", "sources", { html: "input docs", className: "num" }, ...columns.map((c) => ({ html: `−${c}`, className: "num" })), { html: "kept", className: "num" }];
  return {
    html: `<h3>Removed by each filter</h3>\n<p>Each removed document is counted once, under the first filter that rejected it.</p>\n${tableHtml(header, rows)}\n${chartHtml(chart)}`,
    charts: [chart],
  };
}

function sumDocs(bySource: Record<string, { input: DocBytes; kept: DocBytes }>, key: "input" | "kept"): number {
  return Object.values(bySource).reduce((n, v) => n + v[key].documents, 0);
}

export function dataSection(data: RunReportData): Section {
  const rows = sourceTable(data);
  const filters = filterPart(data);
  if (!rows.size) {
    return { id: "data", title: "Data per source", html: noteHtml("No download, normalize or consolidate step has finished yet.") + filters.html, charts: filters.charts };
  }
  const sources = [...rows.keys()];
  const header: Cell[] = [
    "source",
    ...["files", "stored bytes", "read docs", "read bytes", "normalized docs", "normalized bytes", "exact-dedup kept docs", "kept bytes", "duplicates", "consolidated docs", "consolidated bytes"].map((h) => ({ html: h, className: "num" })),
  ];
  const body: Cell[][] = sources.map((s) => {
    const r = rows.get(s)!;
    return [
      s,
      dash(r.files?.count), bytesCell(r.files?.bytes),
      dash(r.read?.documents), bytesCell(r.read?.bytes),
      dash(r.normalized?.documents), bytesCell(r.normalized?.bytes),
      dash(r.kept?.documents), bytesCell(r.kept?.bytes),
      dash(r.duplicates?.documents),
      dash(r.consolidated?.documents), bytesCell(r.consolidated?.bytes),
    ];
  });
  const docs = stageChart("chart-stage-docs", "documents per source and stage", sources, rows, (d) => d.documents);
  const bytes = stageChart("chart-stage-bytes", "text bytes (UTF-8) per source and stage", sources, rows, (d) => d.bytes);
  return {
    id: "data",
    title: "Data per source",
    html:
      `<p>Stored bytes are the downloaded files' sizes; every other byte count is UTF-8 text. "-" marks a stage whose step has not finished.</p>\n` +
      `${tableHtml(header, body)}\n${chartHtml(docs)}\n${chartHtml(bytes)}\n${filters.html}`,
    charts: [docs, bytes, ...filters.charts],
  };
}
