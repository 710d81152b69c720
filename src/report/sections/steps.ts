/**
 * Report section "Steps": the DAG drawn as an ECharts graph (one column per dependency depth, each
 * node coloured by its state, a legend per state) and a table of every step with its state, times,
 * host, output path and, for failed or reused steps, the error or where the output came from.
 */
import type { ReportState, RunReportData, StepRecord } from "../gather.ts";
import { formatDuration, formatTime, STATE_COLORS, STATES } from "../format.ts";
import { chartHtml, escapeHtml, tableHtml, type Cell, type ChartSpec, type Section } from "../html.ts";

interface Placed {
  step: StepRecord;
  layer: number;
  row: number;
}

/**
 * Columns by dependency depth (a step sits one column right of its deepest input); within a column,
 * steps are ordered by the mean row of their inputs, then by name, which keeps most edges short.
 */
export function layoutDag(steps: readonly StepRecord[]): Placed[] {
  const byRel = new Map<string, Placed>();
  const layers: Placed[][] = [];
  for (const step of steps) {
    const deps = step.deps.map((d) => byRel.get(d.relPath)).filter((p): p is Placed => p !== undefined);
    const layer = deps.length ? Math.max(...deps.map((d) => d.layer)) + 1 : 0;
    const placed = { step, layer, row: 0 };
    byRel.set(step.relPath, placed);
    (layers[layer] ??= []).push(placed);
  }
  for (const column of layers) {
    const weight = (p: Placed) => {
      const rows = p.step.deps.map((d) => byRel.get(d.relPath)?.row ?? 0);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
    };
    const keyed = column.map((p) => ({ p, w: weight(p) }));
    keyed.sort((a, b) => a.w - b.w || (a.p.step.name < b.p.step.name ? -1 : a.p.step.name > b.p.step.name ? 1 : 0));
    keyed.forEach(({ p }, i) => (p.row = i));
  }
  return [...byRel.values()];
}

/** Width the DAG's labels are cut to, assuming a page about 1200 px wide. */
const LABEL_BUDGET_PX = 1160;

function dagChart(steps: readonly StepRecord[]): ChartSpec {
  const placed = layoutDag(steps);
  const index = new Map(placed.map((p, i) => [p.step.relPath, i]));
  const tallest = Math.max(1, ...placed.map((p) => p.row + 1));
  const columns = Math.max(1, ...placed.map((p) => p.layer + 1));
  const heights = new Array<number>(columns).fill(0);
  for (const p of placed) heights[p.layer]++;
  const seen = new Set<string>();
  const duplicateNames = new Set(steps.map((s) => s.name).filter((n) => seen.has(n) || !seen.add(n)));
  return {
    id: "chart-dag",
    height: Math.max(180, tallest * 54 + 60),
    option: {
      tooltip: { trigger: "item", formatter: "{b}" },
      legend: [{ data: STATES, top: 0 }],
      grid: { left: 50, right: 50, top: 44, bottom: 24 },
      xAxis: { type: "value", show: false, min: -0.1, max: Math.max(1, columns - 0.9) },
      yAxis: { type: "value", show: false, inverse: true, min: -0.2, max: tallest - 0.6 },
      series: [
        {
          type: "graph",
          name: "steps",
          coordinateSystem: "cartesian2d",
          symbol: "roundRect",
          symbolSize: [18, 18],
          categories: STATES.map((s) => ({ name: s, itemStyle: { color: STATE_COLORS[s] } })),
          label: { show: true, position: "bottom", fontSize: 11, width: Math.floor(LABEL_BUDGET_PX / columns) - 8, overflow: "truncate" },
          edgeSymbol: ["none", "arrow"],
          edgeSymbolSize: 7,
          lineStyle: { color: "#9a9a9a", width: 1.2, curveness: 0.1 },
          data: placed.map((p) => ({
            id: p.step.relPath,
            name: duplicateNames.has(p.step.name) ? `${p.step.name}@${p.step.version.slice(0, 8)}` : p.step.name,
            value: [p.layer, p.row + (tallest - heights[p.layer]) / 2],
            category: STATES.indexOf(p.step.state),
          })),
          links: placed.flatMap((p) =>
            p.step.deps.filter((d) => index.has(d.relPath)).map((d) => ({ source: index.get(d.relPath)!, target: index.get(p.step.relPath)! })),
          ),
        },
      ],
    },
  };
}

function stateCell(state: ReportState): Cell {
  return { html: `<span class="state state-${state}">${state === "NOT_RUN" ? "not run" : state}</span>` };
}

function detail(step: StepRecord): Cell {
  const info = step.info;
  if (step.problem) return { html: `<div class="error">${escapeHtml(step.problem)}</div>` };
  if (info?.error) return { html: `<div class="error">${escapeHtml(info.error.code ? `${info.error.code}: ${info.error.message}` : info.error.message)}</div>` };
  if (step.region) return `finished in region ${step.region}`;
  if (info?.provenance) return `${info.provenance.mode === "copy" ? "copied" : "read"} from region ${info.provenance.region}`;
  if (step.state === "DEP_FAILED") return "an input failed";
  return "";
}

export function stepsSection(data: RunReportData): Section {
  const counts = STATES.map((s) => [s, data.steps.filter((x) => x.state === s).length] as const).filter(([, n]) => n > 0);
  const summary = counts.map(([s, n]) => `<span class="state state-${s}">${n} ${s === "NOT_RUN" ? "not run" : s}</span>`).join(" · ");
  const rows: Cell[][] = data.steps.map((s) => [
    { html: `<span class="step-name">${escapeHtml(s.name)}</span>` },
    stateCell(s.state),
    { html: escapeHtml(formatTime(s.info?.startedAt)), className: "time" },
    { html: escapeHtml(formatTime(s.info?.endedAt)), className: "time" },
    s.info ? { html: escapeHtml(formatDuration(s.info.durationMs)), className: "num" } : "",
    s.info?.host ?? "",
    { html: escapeHtml(s.outputPath), className: "path" },
    detail(s),
  ]);
  const chart = dagChart(data.steps);
  return {
    id: "steps",
    title: "Steps",
    html: `<p>${data.steps.length} steps: ${summary}</p>\n${chartHtml(chart)}\n${tableHtml(
      ["step", "state", "started", "ended", { html: "duration", className: "num" }, "host", "output", "detail"],
      rows,
      "steps",
    )}`,
    charts: [chart],
  };
}
