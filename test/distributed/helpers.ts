/**
 * Reading what the distributed test pipelines left: a step's info.json, the groups `numbers` wrote,
 * and the task and step ledgers the fixtures append to.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fixturePipeline, repoRoot } from "../support/kiln-cli.ts";
import { stepFolder } from "../support/row-hash.ts";
import type { StepInfo } from "../../src/executor/markers.ts";

export const pipelineFile = (name: string) => path.join(repoRoot, "test/distributed/fixtures", name);
export { fixturePipeline };

export function info(prefix: string, step: string): StepInfo {
  return JSON.parse(readFileSync(path.join(stepFolder(prefix, step), ".kiln/info.json"), "utf8"));
}

export function status(prefix: string, step: string): string {
  const file = path.join(stepFolder(prefix, step), ".kiln/status");
  return existsSync(file) ? readFileSync(file, "utf8").trim() : "(none)";
}

/** The rows `numbers` wrote, sorted by key. */
export function groups(prefix: string, step = "numbers"): Array<{ key: number; count: number; sum: number }> {
  const dir = path.join(stepFolder(prefix, step), "out");
  const rows = readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .flatMap((f) => readFileSync(path.join(dir, f), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)));
  return rows.sort((a, b) => a.key - b.key);
}

/** Lines of a ledger file (`tasks.log`, `steps.log`) in `dir`. */
export function ledger(dir: string, file: string): string[] {
  const p = path.join(dir, file);
  return existsSync(p) ? readFileSync(p, "utf8").split("\n").filter(Boolean) : [];
}

/** Ledger lines with the pid dropped, counted: a key seen twice ran twice. */
export function repeated(lines: string[]): string[] {
  const seen = new Map<string, number>();
  for (const l of lines) {
    const key = l.replace(/ pid=\d+$/, "");
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
}
