/** Runs one dedup step in a graph of its own under a fresh prefix; expects success and returns its result and output folder. */
import { expect } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import type { AnyStep } from "../../../src/graph/step.ts";
import type { MinHashDedupResult } from "../../../src/steps/minhash/index.ts";
import { tempDir } from "../../support/kiln-cli.ts";

export async function runDedupStep(target: AnyStep): Promise<{ result: MinHashDedupResult; outputPath: string }> {
  const summary = await runGraph(buildGraph([target]), { prefix: tempDir() });
  expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack ?? summary.failed[0]?.error)).toBe(true);
  const out = summary.outcomes.find((o) => o.node.name === target.name)!;
  return { result: out.result as MinHashDedupResult, outputPath: out.outputPath };
}
