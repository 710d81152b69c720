/**
 * Report sections "Timeline" and "Counters". The timeline is a Gantt chart of every step with
 * recorded start and end times (info.json), drawn as stacked horizontal bars: an invisible bar up to
 * the start, then the step's duration coloured by its state. The counters section lists each step's
 * counters with their rate over the step's duration (records, bytes, tokens per second...).
 */
import type { RunReportData, StepRecord } from "../gather.ts";
import { formatDuration, formatRate, STATE_COLORS } from "../format.ts";
import { chartHtml, escapeHtml, noteHtml, tableHtml, type ChartSpec, type Section } from "../html.ts";

interface Timed {
  step: StepRecord;
  start: number;
  end: number;
}

function withTimes(steps: readonly StepRecord[]): Timed[] {
  const out: Timed[] = [];
  for (const step of steps) {
    const start = Date.parse(step.info?.startedAt ?? "");
    const end = Date.parse(step.info?.endedAt ?? "");
    if (Number.isFinite(start) && Number.isFinite(end)) out.push({ step, start, end: Math.max(start, end) });
  }
  return out.sort((a, b) => a.start - b.start || (a.step.name < b.step.name ? -1 : 1));
}

function timelineChart(timed: Timed[]): ChartSpec {
  const t0 = Math.min(...timed.map((t) => t.start));
  const round = (ms: number) => Math.round(ms) / 1000;
  return {
    id: "chart-timeline",
    height: Math.max(160, timed.length * 24 + 90),
    option: {
      tooltip: { trigger: "item", formatter: "{b}: {c} s" },
      grid: { left: 16, right: 40, top: 20, bottom: 50, containLabel: true },
      xAxis: { type: "value", name: "seconds since the first start", nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "category", inverse: true, data: timed.map((t) => t.step.name), axisLabel: { fontSize: 11 } },
      dataZoom: [{ type: "inside", xAxisIndex: 0 }],
      series: [
        {
          type: "bar",
          name: "waiting",
          stack: "time",
          silent: true,
          itemStyle: { color: "transparent" },
          tooltip: { show: false },
          data: timed.map((t) => round(t.start - t0)),
        },
        {
          type: "bar",
          name: "duration",
          stack: "time",
          barMaxWidth: 16,
          data: timed.map((t) => ({ value: round(t.end - t.start), itemStyle: { color: STATE_COLORS[t.step.state] } })),
        },
      ],
    },
  };
}

export function timelineSection(data: RunReportData): Section {
  const timed = withTimes(data.steps);
  const timedSteps = new Set(timed.map((t) => t.step));
  const untimed = data.steps.filter((s) => !timedSteps.has(s));
  const note = untimed.length
    ? noteHtml(`No recorded times (not finished, not run, or an input failed): ${untimed.map((s) => s.name).join(", ")}`)
    : "";
  if (!timed.length) return { id: "timeline", title: "Timeline", html: noteHtml("No step has finished yet.") + note, charts: [] };
  const chart = timelineChart(timed);
  const span = Math.max(...timed.map((t) => t.end)) - Math.min(...timed.map((t) => t.start));
  return {
    id: "timeline",
    title: "Timeline",
    html: `<p>${timed.length} steps with start and end times, spanning ${escapeHtml(formatDuration(span))} (steps reused from earlier runs keep their original times).</p>\n${chartHtml(chart)}\n${note}`,
    charts: [chart],
  };
}

export function countersSection(data: RunReportData): Section {
  const blocks: string[] = [];
  for (const step of data.steps) {
    const counters = Object.entries(step.info?.counters ?? {});
    if (!step.info || !counters.length) continue;
    const seconds = step.info.durationMs / 1000;
    const rows = counters.map(([name, value]) => [name, value, { html: escapeHtml(seconds > 0 ? formatRate(value / seconds) : ""), className: "num" }]);
    blocks.push(
      `<details><summary><b>${escapeHtml(step.name)}</b> — ${counters.length} counters over ${escapeHtml(formatDuration(step.info.durationMs))}</summary>\n` +
        tableHtml(["counter", { html: "value", className: "num" }, { html: "per second", className: "num" }], rows) +
        "</details>",
    );
  }
  return {
    id: "counters",
    title: "Counters and throughput",
    html: blocks.length ? blocks.join("\n") : noteHtml("No finished step recorded counters."),
    charts: [],
  };
}
