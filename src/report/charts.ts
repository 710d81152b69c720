/**
 * Option pieces shared by the report's ECharts charts: a titled frame (title, tooltip, legend, grid)
 * and the axes most charts use (sources as categories, a named value axis).
 */
import type { EChartsOption, XAXisComponentOption, YAXisComponentOption } from "echarts";

export function titledFrame(title: string, grid: { top?: number; right?: number; bottom?: number } = {}): EChartsOption {
  return {
    title: { text: title, left: "center", textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: { top: 24 },
    grid: { left: 16, right: grid.right ?? 30, top: grid.top ?? 60, bottom: grid.bottom ?? 10, containLabel: true },
  };
}

/** Category axis of source (or step) names, every label shown, slanted when there are many. */
export function categoryAxis(names: string[]): XAXisComponentOption {
  return { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0 } };
}

/** Value axis with its name at the top left of the plot. */
export function namedValueAxis(name: string, extra: { min?: number; max?: number; scale?: boolean } = {}): YAXisComponentOption {
  return { type: "value", name, nameTextStyle: { align: "left" }, ...extra };
}
