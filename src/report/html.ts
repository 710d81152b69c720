/**
 * HTML assembly for the run report: one self-contained page. The ECharts library (its prebuilt
 * minified bundle from the installed package) and every chart's option are inlined, so the file
 * opens from disk with no network. Sections hand in escaped HTML plus chart specs; a few lines of
 * script create one chart per spec. Also the small HTML helpers (escaping, tables, notes) the
 * sections share.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type { EChartsOption } from "echarts";

export interface ChartSpec {
  /** DOM id of the chart's element; unique in the page. */
  id: string;
  height: number;
  option: EChartsOption;
}

export interface Section {
  id: string;
  title: string;
  /** Escaped HTML; charts appear where `chartHtml(spec)` was placed. */
  html: string;
  charts: ChartSpec[];
}

export interface Page {
  title: string;
  /** Escaped HTML shown under the title. */
  header: string;
  sections: Section[];
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A cell: plain text (escaped here), or `{ html }` already escaped, with an optional class. */
export type Cell = string | number | { html: string; className?: string };

function cellHtml(cell: Cell, tag: "td" | "th"): string {
  if (typeof cell === "number") return `<${tag} class="num">${escapeHtml(cell.toLocaleString("en-US"))}</${tag}>`;
  if (typeof cell === "string") return `<${tag}>${escapeHtml(cell)}</${tag}>`;
  return `<${tag}${cell.className ? ` class="${escapeHtml(cell.className)}"` : ""}>${cell.html}</${tag}>`;
}

export function tableHtml(header: Cell[], rows: Cell[][], className = ""): string {
  const head = `<tr>${header.map((h) => cellHtml(h, "th")).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => cellHtml(c, "td")).join("")}</tr>`).join("\n");
  return `<table${className ? ` class="${className}"` : ""}><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

/** A muted line saying why a section has nothing (or only part) to show. */
export function noteHtml(text: string): string {
  return `<p class="note">${escapeHtml(text)}</p>`;
}

export function chartHtml(spec: ChartSpec): string {
  return `<div class="chart" id="${escapeHtml(spec.id)}" style="height:${Math.round(spec.height)}px"></div>`;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

let echartsCache: string | undefined;

/** The installed ECharts' prebuilt minified bundle (license header included). */
export function echartsSource(): string {
  if (echartsCache === undefined) {
    const require = createRequire(import.meta.url);
    const file = path.join(path.dirname(require.resolve("echarts")), "echarts.min.js");
    echartsCache = readFileSync(file, "utf8").replace(/<\/script/gi, "<\\/script");
  }
  return echartsCache;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 0; background: #f6f6f4; }
header { background: #2f3640; color: #fff; padding: 16px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { color: #d0d4da; font-size: 13px; }
nav { padding: 8px 28px; background: #e8e8e4; font-size: 13px; }
nav a { margin-right: 14px; color: #2f3640; }
section { background: #fff; margin: 16px 28px; padding: 12px 20px 18px; border-radius: 6px; box-shadow: 0 1px 2px #0002; }
section h2 { font-size: 17px; margin: 6px 0 10px; }
section h3 { font-size: 15px; margin: 14px 0 6px; }
.chart { width: 100%; min-width: 480px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 3px 10px; text-align: left; vertical-align: top; }
th { background: #f0f0ec; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.time { white-space: nowrap; }
td.path { font-family: ui-monospace, monospace; font-size: 12px; color: #555; word-break: break-all; }
.note { color: #777; font-style: italic; }
.state { font-weight: 600; }
.state-SUCCESS { color: #2e8b57; } .state-FAILED { color: #c0392b; } .state-RUNNING { color: #2c6fbb; }
.state-DEP_FAILED { color: #d35400; } .state-NOT_RUN { color: #888; }
.error { color: #c0392b; font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; }
details summary { cursor: pointer; padding: 2px 0; }
`;

const BOOT = `
(function () {
  var specs = JSON.parse(document.getElementById("kiln-report-charts").textContent);
  var charts = [];
  Object.keys(specs).forEach(function (id) {
    var chart = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    chart.setOption(specs[id]);
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.documentElement.setAttribute("data-charts", String(charts.length));
})();
`;

/** The whole page as one string. */
export function renderPage(page: Page): string {
  const charts: Record<string, EChartsOption> = {};
  for (const section of page.sections) {
    for (const spec of section.charts) {
      if (charts[spec.id]) throw new Error(`two charts share the id ${spec.id}`);
      charts[spec.id] = { animation: false, ...spec.option };
    }
  }
  const nav = page.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join("");
  const body = page.sections.map((s) => `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.html}\n</section>`).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(page.title)}</h1><div class="meta">${page.header}</div></header>
<nav>${nav}</nav>
${body}
<script type="application/json" id="kiln-report-charts">${scriptJson(charts)}</script>
<script>${echartsSource()}</script>
<script>${BOOT}</script>
</body>
</html>
`;
}
