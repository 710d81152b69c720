/**
 * Report section "Mixture search", for steps whose result has the mixture-swarm shape
 * (`kind: "kiln.mixture-swarm"`, see results.ts): predicted against measured objective per proxy
 * run (a scatter with the y = x line), and the proposed weights per source with their intervals
 * (bars with interval whiskers), plus both as tables. Proxies not measured yet are listed only.
 */
import type { RunReportData } from "../gather.ts";
import { formatNumber } from "../format.ts";
import { categoryAxis, namedValueAxis, titledFrame } from "../charts.ts";
import { chartHtml, escapeHtml, noteHtml, tableHtml, type Cell, type ChartSpec, type Section } from "../html.ts";
import { mixtureSwarmResultSchema, resultAs, type MixtureSwarmResult } from "../results.ts";

const num = (v: number | undefined | null): Cell => ({ html: v === undefined || v === null ? "-" : formatNumber(v), className: "num" });

function predictedChart(id: string, r: MixtureSwarmResult): ChartSpec | null {
  const measured = r.proxies.filter((p) => p.measured !== null);
  if (!measured.length) return null;
  const values = measured.flatMap((p) => [p.predicted, p.measured ?? p.predicted]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  return {
    id,
    height: 360,
    option: {
      ...titledFrame(`predicted vs measured ${r.objective}`, { top: 50, right: 40, bottom: 40 }),
      tooltip: { trigger: "item" },
      xAxis: { type: "value", name: "predicted", nameLocation: "middle", nameGap: 26, min: lo - pad, max: hi + pad },
      yAxis: namedValueAxis("measured", { min: lo - pad, max: hi + pad }),
      series: [
        {
          type: "scatter",
          name: "proxies",
          symbolSize: 10,
          data: measured.map((p) => ({ name: p.name, value: [p.predicted, p.measured ?? p.predicted] })),
          markLine: {
            silent: true,
            symbol: "none",
            lineStyle: { type: "dashed", color: "#999" },
            label: { formatter: "y = x" },
            data: [[{ coord: [lo - pad, lo - pad] }, { coord: [hi + pad, hi + pad] }]],
          },
        },
      ],
    },
  };
}

function weightsChart(id: string, r: MixtureSwarmResult): ChartSpec {
  const sources = r.sources;
  const intervals = r.proposed.intervals;
  return {
    id,
    height: 320,
    option: {
      ...titledFrame("proposed mixture weights"),
      xAxis: categoryAxis(sources),
      yAxis: namedValueAxis("weight", { min: 0 }),
      series: [
        { type: "bar", name: "proposed weight", barMaxWidth: 48, data: sources.map((s) => r.proposed.weights[s] ?? null) },
        ...(intervals
          ? [
              {
                type: "candlestick" as const,
                name: "interval",
                barMaxWidth: 6,
                itemStyle: { color: "#333", color0: "#333", borderColor: "#333", borderColor0: "#333" },
                data: sources.map((s) => {
                  const iv = intervals[s];
                  return iv ? [iv[0], iv[1], iv[0], iv[1]] : ["-", "-", "-", "-"];
                }),
              },
            ]
          : []),
      ],
    },
  };
}

function oneSwarm(name: string, r: MixtureSwarmResult, index: number): { html: string; charts: ChartSpec[] } {
  const predicted = predictedChart(`chart-mixture-predicted-${index}`, r);
  const weights = weightsChart(`chart-mixture-weights-${index}`, r);
  const proxyRows: Cell[][] = r.proxies.map((p) => [
    p.name,
    num(p.predicted),
    num(p.measured),
    num(p.measured === null ? null : p.measured - p.predicted),
    ...r.sources.map((s) => num(p.weights[s] ?? 0)),
  ]);
  const proposedRows: Cell[][] = r.sources.map((s) => [s, num(r.proposed.weights[s]), num(r.proposed.intervals?.[s]?.[0]), num(r.proposed.intervals?.[s]?.[1])]);
  const unmeasured = r.proxies.filter((p) => p.measured === null).length;
  const expected =
    r.proposed.predicted !== undefined
      ? `<p>Predicted ${escapeHtml(r.objective)} of the proposed mixture: <b>${formatNumber(r.proposed.predicted)}</b>${
          r.proposed.predictedInterval ? ` (interval ${formatNumber(r.proposed.predictedInterval[0])} – ${formatNumber(r.proposed.predictedInterval[1])})` : ""
        }</p>`
      : "";
  const html = [
    `<h3>${escapeHtml(name)}</h3>`,
    `<p>${r.proxies.length} proxy runs over ${r.sources.length} sources; objective: ${escapeHtml(r.objective)}.</p>`,
    predicted ? chartHtml(predicted) : noteHtml("No proxy has a measured value yet."),
    unmeasured ? noteHtml(`${unmeasured} proxies not measured yet (left out of the chart).`) : "",
    tableHtml(["proxy", ...["predicted", "measured", "measured − predicted", ...r.sources.map((s) => `w ${s}`)].map((h) => ({ html: escapeHtml(h), className: "num" }))], proxyRows),
    expected,
    chartHtml(weights),
    tableHtml(["source", ...["proposed weight", "interval low", "interval high"].map((h) => ({ html: h, className: "num" }))], proposedRows),
  ].join("\n");
  return { html, charts: predicted ? [predicted, weights] : [weights] };
}

/** The section, or null when no step has a mixture-swarm result (the report then omits it). */
export function mixtureSection(data: RunReportData): Section | null {
  const swarms = data.steps.flatMap((step) => {
    const r = resultAs(mixtureSwarmResultSchema, step.info?.result);
    return r ? [{ name: step.name, r }] : [];
  });
  if (!swarms.length) return null;
  const parts = swarms.map((s, i) => oneSwarm(s.name, s.r, i));
  return { id: "mixture", title: "Mixture search", html: parts.map((p) => p.html).join("\n"), charts: parts.flatMap((p) => p.charts) };
}
