/**
 * Types of the report hook's run: results typed from the step object, outcomes with their state,
 * output path, duration and error, and wrong uses rejected by the compiler.
 */
import { describe, expectTypeOf, it } from "vitest";
import { pipeline, step, versioned, type StepResult } from "../../src/index.ts";
import type { PipelineRun, StepReport, StepRunState } from "../../src/graph/pipeline-run.ts";

const tokenize = step({ name: "tokenize", config: { vocab: versioned(512) }, run: async () => ({ tokens: 10, shards: ["a"] }) });
const train = step({ name: "train", inputs: { data: tokenize }, run: (ctx) => ({ loss: 0.5, tokens: ctx.inputs.data.result.tokens }) });
const marker = step({ name: "marker", run: () => undefined });

describe("the report hook's run", () => {
  it("types each step's result from the step object", () => {
    pipeline({
      name: "typed",
      steps: [train],
      report: (run) => {
        expectTypeOf(run).toEqualTypeOf<PipelineRun>();
        expectTypeOf(run.resultOf(tokenize)).toEqualTypeOf<{ tokens: number; shards: string[] } | undefined>();
        expectTypeOf(run.resultOf(train)).toEqualTypeOf<StepResult<typeof train> | undefined>();
        expectTypeOf(run.resultOf(train)?.loss).toEqualTypeOf<number | undefined>();
        expectTypeOf(run.resultOf(marker)).toEqualTypeOf<undefined>();
        // @ts-expect-error the result is undefined when the step failed or did not run
        run.resultOf(tokenize).tokens;
        // @ts-expect-error no such field in the tokenize result
        run.resultOf(tokenize)?.loss;
        // @ts-expect-error steps are looked up by the step object, not by name
        run.resultOf("tokenize");
      },
    });
  });

  it("gives every outcome's state, output path, duration and error", () => {
    pipeline({
      name: "outcomes",
      steps: [train],
      report: (run) => {
        expectTypeOf(run.ok).toEqualTypeOf<boolean>();
        expectTypeOf(run.outcomes).toEqualTypeOf<readonly StepReport[]>();
        expectTypeOf(run.outcomeOf(train)).toEqualTypeOf<StepReport | undefined>();
        const o = run.outcomeOf(train)!;
        expectTypeOf(o.state).toEqualTypeOf<StepRunState>();
        expectTypeOf(o.outputPath).toEqualTypeOf<string>();
        expectTypeOf(o.durationMs).toEqualTypeOf<number>();
        expectTypeOf(o.error).toEqualTypeOf<unknown>();
        // @ts-expect-error not a state a step can end in
        o.state === "succeeded";
        // @ts-expect-error the run is read-only
        run.push(o);
      },
    });
  });

  it("still serves hooks that search the outcomes as an array by name", () => {
    pipeline({
      name: "array",
      steps: [train],
      report: (outcomes: ReadonlyArray<{ name: string; state: string; result: unknown; outputPath: string }>) => {
        expectTypeOf(outcomes.find((o) => o.name === "train")?.result).toEqualTypeOf<unknown>();
      },
    });
  });
});
