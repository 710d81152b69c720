/**
 * Summaries of paired before/after runs: median, min and max of each metric, the after/before
 * ratio of the medians and the median of the run-by-run ratios (runs alternate before, after, so
 * a drift of the machine's speed hits both sides of a pair), and a verdict per metric. The rule:
 * a metric changed beyond noise when every after run lies outside the range of every before run
 * (min(after) > max(before), or max(after) < min(before)); with fewer than 3 runs a side there is
 * no range to judge by.
 */
import { median } from "./cpu-timing.ts";

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export type Verdict = "within noise" | "after higher beyond noise" | "after lower beyond noise" | "too few runs to tell";

export const VERDICT_RULE =
  "a metric changed beyond noise when the after runs' range and the before runs' range do not overlap " +
  "(min(after) > max(before): higher; max(after) < min(before): lower); needs at least 3 runs a side";

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export function spread(values: number[]): Spread {
  return { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)), runs: values.map((v) => round(v)) };
}

export function verdict(before: number[], after: number[]): Verdict {
  if (before.length < 3 || after.length < 3) return "too few runs to tell";
  if (Math.min(...after) > Math.max(...before)) return "after higher beyond noise";
  if (Math.max(...after) < Math.min(...before)) return "after lower beyond noise";
  return "within noise";
}

export interface Comparison {
  /** median(after) / median(before). */
  ratioOfMedians: number;
  /** Median, min and max of after[i] / before[i] over the pairs. */
  pairedRatios: Spread;
  verdict: Verdict;
}

export function compare(before: number[], after: number[]): Comparison {
  const pairs = before.map((b, i) => after[i] / b).filter((r) => Number.isFinite(r));
  return {
    ratioOfMedians: round(median(after) / median(before), 4),
    pairedRatios: pairs.length ? spread(pairs) : { median: NaN, min: NaN, max: NaN, runs: [] },
    verdict: verdict(before, after),
  };
}
