/**
 * The run view a report hook gets, built from a real run of a small graph on local disk: lookups
 * by step object (also by an equal step built a second time), results of skipped steps from
 * info.json, and no result for a failed step or one outside the run.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph, runGraph, step, versioned } from "../../src/index.ts";
import { pipelineRun } from "../../src/graph/pipeline-run.ts";
import { tempDir } from "../support/kiln-cli.ts";

const counted = (n: number) => step({ name: "counted", config: { n: versioned(n) }, run: () => ({ items: Array.from({ length: n }, (_, i) => i) }) });

function graphOf(n: number) {
  const source = counted(n);
  const sum = step({ name: "sum", inputs: { source }, run: (ctx) => ({ total: ctx.inputs.source.result.items.reduce((a, b) => a + b, 0) }) });
  const broken = step({ name: "broken", inputs: { source }, run: (): { never: true } => { throw new Error("broken on purpose"); } });
  return { source, sum, broken, graph: buildGraph([sum, broken]) };
}

describe("pipelineRun", () => {
  it("finds outcomes and typed results by step, including an equal step built again", async () => {
    const prefix = path.join(tempDir(), "out");
    const { source, sum, broken, graph } = graphOf(4);
    const summary = await runGraph(graph, { prefix });
    const run = pipelineRun(summary.outcomes, summary.ok);

    expect(run.ok).toBe(false);
    expect(run.outcomes.map((o) => `${o.name}:${o.state}`).sort()).toEqual(["broken:failed", "counted:ran", "sum:ran"]);
    expect(run.resultOf(sum)?.total).toBe(6);
    expect(run.resultOf(source)?.items).toEqual([0, 1, 2, 3]);
    expect(run.resultOf(counted(4))).toEqual({ items: [0, 1, 2, 3] });
    expect(run.resultOf(counted(5))).toBeUndefined();
    expect(run.resultOf(broken)).toBeUndefined();
    const failed = run.outcomeOf(broken);
    expect(failed?.state).toBe("failed");
    expect(failed?.error).toBeInstanceOf(Error);
    expect(failed?.outputPath).toMatch(new RegExp(`^${prefix}/broken-[0-9a-f]{8}$`));
    expect(run.length).toBe(3);
    expect(run.find((o) => o.name === "sum")?.result).toEqual({ total: 6 });
  });

  it("gives skipped steps the result stored by the run that did them", async () => {
    const prefix = path.join(tempDir(), "out");
    const first = graphOf(3);
    await runGraph(first.graph, { prefix });
    const again = graphOf(3);
    const summary = await runGraph(again.graph, { prefix });
    const run = pipelineRun(summary.outcomes, summary.ok);
    expect(run.outcomeOf(again.sum)?.state).toBe("skipped");
    expect(run.resultOf(again.sum)).toEqual({ total: 3 });
    expect(run.resultOf(first.sum)).toEqual({ total: 3 });
    expect(run.outcomeOf(again.broken)?.state).toBe("failed");
  });
});
