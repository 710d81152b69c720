/**
 * Report sections "Training" and "Evaluation". Training: the loss per optimizer step of every step
 * whose output holds a trainer's metrics.jsonl (also while it runs or after it failed, so a partial
 * curve shows), one line each, and the train results (steps, tokens, tokens/s, final loss).
 * Evaluation: bits per byte per source for every eval result, with the macro average marked.
 */
import type { RunReportData } from "../gather.ts";
import { formatDuration, formatNumber, formatRate } from "../format.ts";
import { categoryAxis, namedValueAxis, titledFrame } from "../charts.ts";
import { chartHtml, escapeHtml, noteHtml, tableHtml, type Cell, type ChartSpec, type Section } from "../html.ts";
import { evalResultSchema, resultAs, trainResultSchema } from "../results.ts";

export function trainingSection(data: RunReportData): Section {
  const trained = data.steps.flatMap((step) => {
    const result = resultAs(trainResultSchema, step.info?.result);
    return result || step.loss ? [{ step, result }] : [];
  });
  if (!trained.length) {
    return { id: "training", title: "Training", html: noteHtml("No step has logged a training loss yet (no metrics.jsonl in any step's output) or finished training."), charts: [] };
  }
  const curves = trained.filter((t) => t.step.loss?.points.length);
  const chart: ChartSpec = {
    id: "chart-loss",
    height: 340,
    option: {
      ...titledFrame("training loss", { bottom: 40 }),
      xAxis: { type: "value", name: "optimizer step", nameLocation: "middle", nameGap: 26, min: "dataMin" },
      yAxis: namedValueAxis("loss (nats/token)", { scale: true }),
      dataZoom: [{ type: "inside", xAxisIndex: 0 }],
      series: curves.map((t) => ({
        type: "line",
        name: t.step.name,
        showSymbol: false,
        sampling: "lttb",
        data: t.step.loss!.points,
      })),
    },
  };
  const rows: Cell[][] = trained.map(({ step, result }) => [
    step.name,
    { html: `<span class="state state-${step.state}">${step.state === "NOT_RUN" ? "not run" : step.state}</span>` },
    result ? result.steps : dash(step.loss?.points.at(-1)?.[0]),
    result ? result.tokens : dash(undefined),
    { html: result ? formatRate(result.tokensPerS) : "-", className: "num" },
    { html: escapeHtml(result ? result.finalLoss.toFixed(4) : (step.loss?.points.at(-1)?.[1].toFixed(4) ?? "-")), className: "num" },
    result?.elapsedS !== undefined ? formatDuration(result.elapsedS * 1000) : "",
    step.loss ? step.loss.total : dash(undefined),
    result?.torch ?? "",
  ]);
  const nonFinite = trained.filter((t) => t.step.loss?.nonFinite).map((t) => `${t.step.name}: ${t.step.loss!.nonFinite} non-finite losses left out`);
  const missing = trained.filter((t) => !t.step.loss).map((t) => t.step.name);
  const notes = [
    ...nonFinite.map(noteHtml),
    ...(missing.length ? [noteHtml(`No metrics.jsonl in the output of: ${missing.join(", ")}`)] : []),
  ].join("\n");
  const header: Cell[] = ["train step", "state", ...["steps", "tokens", "tokens/s", "final loss"].map((h) => ({ html: h, className: "num" })), "elapsed", { html: "logged steps", className: "num" }, "torch"];
  return {
    id: "training",
    title: "Training",
    html: `${curves.length ? chartHtml(chart) : noteHtml("No loss has been logged yet.")}\n${tableHtml(header, rows)}\n${notes}`,
    charts: curves.length ? [chart] : [],
  };
}

function dash(v: number | undefined): Cell {
  return v === undefined ? { html: "-", className: "num" } : v;
}

export function evaluationSection(data: RunReportData): Section {
  const evals = data.steps.flatMap((step) => {
    const result = resultAs(evalResultSchema, step.info?.result);
    return result ? [{ name: step.name, result }] : [];
  });
  if (!evals.length) return { id: "evaluation", title: "Evaluation", html: noteHtml("No eval step has finished yet."), charts: [] };
  const sources = [...new Set(evals.flatMap((e) => Object.keys(e.result.sources)))].sort();
  const chart: ChartSpec = {
    id: "chart-bpb",
    height: 320,
    option: {
      ...titledFrame("bits per byte per source (lower is better)", { top: 64, right: 90 }),
      xAxis: categoryAxis(sources),
      yAxis: namedValueAxis("bits per byte"),
      series: evals.map((e) => ({
        type: "bar",
        name: e.name,
        barMaxWidth: 64,
        data: sources.map((s) => e.result.sources[s]?.bpb ?? null),
        markLine: { symbol: "none", label: { formatter: "macro {c}" }, data: [{ name: "macro average", yAxis: Number(e.result.macroBpb.toFixed(4)) }] },
      })),
    },
  };
  const rows: Cell[][] = sources.map((s) => [
    s,
    ...evals.map((e): Cell => {
      const v = e.result.sources[s];
      return { html: v ? formatNumber(v.bpb) : "-", className: "num" };
    }),
  ]);
  rows.push([{ html: "<b>macro average</b>" }, ...evals.map((e): Cell => ({ html: `<b>${formatNumber(e.result.macroBpb)}</b>`, className: "num" }))]);
  const header: Cell[] = ["source", ...evals.map((e) => ({ html: `${escapeHtml(e.name)} bpb`, className: "num" }))];
  return { id: "evaluation", title: "Evaluation", html: `${chartHtml(chart)}\n${tableHtml(header, rows)}`, charts: [chart] };
}
