/**
 * Number, time and state formatting shared by the report sections: durations, rates, timestamps,
 * and one colour per step state used by every chart and table.
 */
import type { ReportState } from "./gather.ts";

export { formatBytes } from "../executor/regions.ts";

export const STATE_COLORS: Record<ReportState, string> = {
  SUCCESS: "#3ba272",
  FAILED: "#e0524f",
  RUNNING: "#5470c6",
  DEP_FAILED: "#f0883a",
  NOT_RUN: "#b8b8b8",
};

export const STATES: ReportState[] = ["SUCCESS", "FAILED", "RUNNING", "DEP_FAILED", "NOT_RUN"];

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "2024-05-01 12:03:04Z" from an ISO timestamp. */
export function formatTime(iso: string | undefined): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "";
  if (perSecond >= 100) return Math.round(perSecond).toLocaleString("en-US");
  return perSecond.toPrecision(3);
}

export function formatNumber(n: number, digits = 4): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(digits);
}
