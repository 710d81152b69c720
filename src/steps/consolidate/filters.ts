/**
 * Consolidate's filters, as JSON configuration: `drop-true` / `drop-false` (drop documents whose
 * attribute is true / false, e.g. `is_cluster_canonical` false for near-duplicates), `threshold` (keep documents whose score is within [min, max]), and `fraction` (keep the
 * given share of documents by score, highest by default, the cut being the score's quantile from a
 * mergeable sketch over every shard). Each filter has `keepIfMissing`: what happens to a document
 * without the attribute (default: kept for drop-true, dropped for score filters). Filters apply in
 * order; a removed document is counted against the first filter that removed it.
 */
import { FilterConfigError } from "./errors.ts";

interface FilterBase {
  attribute: string;
  keepIfMissing?: boolean;
  /** Name used in counts (default `<type>:<attribute>`). */
  name?: string;
}

export interface DropTrueFilter extends FilterBase {
  type: "drop-true";
}
/** Drops documents whose attribute is false (e.g. `is_cluster_canonical` for near-duplicates). */
export interface DropFalseFilter extends FilterBase {
  type: "drop-false";
}
export interface ThresholdFilter extends FilterBase {
  type: "threshold";
  min?: number;
  max?: number;
}
export interface FractionFilter extends FilterBase {
  type: "fraction";
  /** Share of the documents that have the attribute to keep, in (0, 1]. */
  keep: number;
  /** Keep the highest scores (default true) or the lowest. */
  highest?: boolean;
}
export type ConsolidateFilter = DropTrueFilter | DropFalseFilter | ThresholdFilter | FractionFilter;

/** A filter ready to evaluate: fraction filters carry their resolved score cut. Plain JSON: null bounds are open. */
export type ResolvedFilter = {
  name: string;
  attribute: string;
  keepIfMissing: boolean;
  kind: "drop-true" | "drop-false" | "range";
  min: number | null;
  max: number | null;
};

export function filterName(f: ConsolidateFilter): string {
  return f.name ?? `${f.type}:${f.attribute}`;
}

/** Checks a filter list; errors name the filter by position and say what to write instead. */
export function validateFilters(filters: unknown): ConsolidateFilter[] {
  if (!Array.isArray(filters)) throw new FilterConfigError("filters must be a list", "pass filters: [{ type: 'drop-true', attribute: 'is_duplicate' }, ...]");
  const names = new Set<string>();
  filters.forEach((f: Partial<ConsolidateFilter> & Record<string, unknown>, i) => {
    const at = `filter ${i}`;
    if (typeof f !== "object" || f === null) throw new FilterConfigError(`${at} is not an object`, "write each filter as { type, attribute, ... }");
    if (typeof f.attribute !== "string" || !f.attribute) throw new FilterConfigError(`${at} has no attribute name`, "set attribute to the attribute's name");
    if (f.keepIfMissing !== undefined && typeof f.keepIfMissing !== "boolean") throw new FilterConfigError(`${at}: keepIfMissing must be true or false`, "set keepIfMissing: true or false");
    if (f.type === "threshold") {
      const { min, max } = f as ThresholdFilter;
      if (min === undefined && max === undefined) throw new FilterConfigError(`${at} (threshold on '${f.attribute}') has neither min nor max`, "give min, max or both");
      for (const [k, v] of [["min", min], ["max", max]] as const) {
        if (v !== undefined && !Number.isFinite(v)) throw new FilterConfigError(`${at}: ${k} is ${String(v)}, not a finite number`, `set ${k} to a number`);
      }
      if (min !== undefined && max !== undefined && min > max) throw new FilterConfigError(`${at}: min ${min} is above max ${max}`, "swap them");
    } else if (f.type === "fraction") {
      const keep = (f as FractionFilter).keep;
      if (!(typeof keep === "number" && keep > 0 && keep <= 1)) throw new FilterConfigError(`${at}: keep is ${String(keep)}, not in (0, 1]`, "set keep to the share to keep, e.g. 0.8");
    } else if (f.type !== "drop-true" && f.type !== "drop-false") {
      throw new FilterConfigError(`${at} has unknown type '${String(f.type)}'`, "use 'drop-true', 'drop-false', 'threshold' or 'fraction'");
    }
    const name = filterName(f as ConsolidateFilter);
    if (names.has(name)) throw new FilterConfigError(`two filters are named '${name}'`, "give one of them a distinct name");
    names.add(name);
  });
  return filters as ConsolidateFilter[];
}

/** Resolves filters; `cuts` holds each fraction filter's score cut by filter name. */
export function resolveFilters(filters: ConsolidateFilter[], cuts: Record<string, number>): ResolvedFilter[] {
  return filters.map((f) => {
    const name = filterName(f);
    const base = { name, attribute: f.attribute };
    if (f.type === "drop-true" || f.type === "drop-false") return { ...base, kind: f.type, keepIfMissing: f.keepIfMissing ?? true, min: null, max: null };
    if (f.type === "threshold") return { ...base, kind: "range", keepIfMissing: f.keepIfMissing ?? false, min: f.min ?? null, max: f.max ?? null };
    const cut = cuts[name];
    const highest = f.highest ?? true;
    const keepAll = f.keep >= 1 || cut === undefined || Number.isNaN(cut);
    return {
      ...base,
      kind: "range",
      keepIfMissing: f.keepIfMissing ?? false,
      min: keepAll || !highest ? null : cut,
      max: keepAll || highest ? null : cut,
    };
  });
}

/**
 * The name of the first filter that removes a document with these attributes, or null to keep it.
 * A score that is not a finite number counts as missing.
 */
export function firstRejecting(filters: ResolvedFilter[], attributes: Record<string, unknown> | undefined): string | null {
  for (const f of filters) {
    const value = attributes?.[f.attribute];
    if (f.kind === "drop-true" || f.kind === "drop-false") {
      if (value === undefined || value === null) {
        if (!f.keepIfMissing) return f.name;
      } else if (value === (f.kind === "drop-true")) {
        return f.name;
      }
      continue;
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      if (!f.keepIfMissing) return f.name;
      continue;
    }
    if ((f.min !== null && value < f.min) || (f.max !== null && value > f.max)) return f.name;
  }
  return null;
}
