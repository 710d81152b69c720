import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { step } from "../../../src/graph/step.ts";
import { versioned } from "../../../src/graph/versioned.ts";
import { Dataset, runDataset } from "../../../src/index.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import { tempDir } from "../../support/kiln-cli.ts";

describe("datasets inside steps", () => {
  it("fold stage and user counters into the step's info.json", async () => {
    const prefix = tempDir();
    const s = step({
      name: "count-words",
      config: { v: versioned(Math.random()) },
      run: async (ctx) => {
        const words = Dataset.fromItems(["a b c", "d e", "", "f"], { shards: 2 })
          .filter((line) => line.length > 0)
          .flatMap((line, uctx) => {
            uctx.counters.increment("lines");
            return line.split(" ");
          });
        const { outputs } = await runDataset(ctx, words.write(ctx.path("words/part-{shard}-of-{total}.jsonl"), { format: "jsonl" }), { executor: "inline", progress: false, label: "words" });
        return { files: outputs.length };
      },
    });
    const summary = await runGraph(buildGraph([s]), { prefix });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack)).toBe(true);
    const info = JSON.parse(readFileSync(path.join(summary.outcomes[0].outputPath, ".kiln/info.json"), "utf8"));
    expect(info.counters["words.user.lines"]).toBe(3);
    expect(info.counters["words.stage0.recordsIn"]).toBe(4);
    expect(info.counters["words.stage0.recordsOut"]).toBe(6);
    expect(info.result).toEqual({ files: 2 });
  });
});
