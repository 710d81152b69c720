/**
 * Checks shared by the plan tests: a plan survives JSON round trips (logical and physical, and plans
 * the same way afterwards), and its EXPLAIN text matches its golden file under test/golden (written
 * when missing outside CI, or regenerated with KILN_UPDATE_GOLDEN=1).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { explainPlan } from "../../src/index.ts";
import type { LogicalPlan } from "../../src/dataset/logical.ts";
import { planPhysical } from "../../src/internal.ts";

const GOLDEN = path.join(import.meta.dirname, "..", "golden");

/** A Dataset or a terminal (count, reduce, write): anything with a plan. */
interface Planned {
  logicalPlan(): LogicalPlan;
  explain(): string;
}

export function expectPlanSurvivesJson(ds: Planned): void {
  const logical = ds.logicalPlan();
  const copied = JSON.parse(JSON.stringify(logical));
  expect(copied).toStrictEqual(logical);
  const physical = planPhysical(logical);
  expect(JSON.parse(JSON.stringify(physical))).toStrictEqual(physical);
  expect(planPhysical(copied)).toStrictEqual(physical);
  expect(explainPlan(copied)).toBe(ds.explain());
}

/** Compares `ds.explain()` with test/golden/<name>.explain.txt; returns the text. */
export function expectExplainMatchesGolden(name: string, ds: Planned): string {
  const file = path.join(GOLDEN, `${name}.explain.txt`);
  const text = ds.explain();
  if (process.env.KILN_UPDATE_GOLDEN === "1" || !existsSync(file)) {
    if (process.env.CI && !existsSync(file)) throw new Error(`golden file ${file} is missing; run with KILN_UPDATE_GOLDEN=1`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
  }
  expect(text).toBe(readFileSync(file, "utf8"));
  return text;
}
