import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../src/graph/dag.ts";
import { step } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { localFileSystem } from "../../src/io/index.ts";
import { writeStatus } from "../../src/executor/markers.ts";
import { runGraph } from "../../src/executor/scheduler.ts";
import { tempDir } from "../support/kiln-cli.ts";

/** A step that reports whether a checkpoint from an earlier, crashed attempt was still there. */
function checkpointing(resumable: boolean) {
  return step({
    name: resumable ? "resumable" : "fresh",
    config: { k: versioned(Math.random()) },
    resumable,
    run: async (ctx) => {
      const found = existsSync(ctx.path("ckpt/state.txt")) ? readFileSync(ctx.path("ckpt/state.txt"), "utf8") : null;
      await ctx.writeFile("final.txt", "done");
      return { resumedFrom: found };
    },
  });
}

describe("resuming a crashed attempt", () => {
  for (const resumable of [true, false]) {
    it(`${resumable ? "keeps" : "clears"} an unfinished attempt's files when the step is ${resumable ? "" : "not "}resumable`, async () => {
      const prefix = tempDir();
      const s = checkpointing(resumable);
      const graph = buildGraph([s]);
      const out = path.join(prefix, graph.nodes[0].relPath);
      await localFileSystem.writeAtomic(path.join(out, "ckpt/state.txt"), "step 50");
      await writeStatus(localFileSystem, out, "RUNNING");
      const summary = await runGraph(graph, { prefix });
      expect(summary.ok).toBe(true);
      expect(summary.outcomes[0].result).toEqual({ resumedFrom: resumable ? "step 50" : null });
    });
  }
});
