import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../src/graph/dag.ts";
import { step } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { localFileSystem } from "../../src/io/index.ts";
import { markerPaths, writeStatus } from "../../src/executor/markers.ts";
import { runGraph } from "../../src/executor/scheduler.ts";
import { COMMIT_MARKER, RESUME_FOLDER, STAGING_ROOT } from "../../src/executor/staging.ts";
import { tempDir } from "../support/kiln-cli.ts";

/**
 * A step that writes a checkpoint, fails on its first attempt, and on later ones reports which
 * checkpoint it found when it started.
 */
function checkpointing(resumable: boolean) {
  let attempts = 0;
  return step({
    name: resumable ? "resumable" : "fresh",
    config: { k: versioned(Math.random()) },
    resumable,
    run: async (ctx) => {
      const found = existsSync(ctx.path("ckpt/state.txt")) ? readFileSync(ctx.path("ckpt/state.txt"), "utf8") : null;
      attempts++;
      await ctx.writeFile("ckpt/state.txt", `attempt ${attempts}`);
      if (attempts === 1) throw new Error("failed after writing a checkpoint");
      await ctx.writeFile("final.txt", "done");
      return { resumedFrom: found };
    },
  });
}

describe("resuming an unfinished attempt", () => {
  for (const resumable of [true, false]) {
    it(`${resumable ? "keeps" : "drops"} a failed attempt's files when the step is ${resumable ? "" : "not "}resumable`, async () => {
      const prefix = tempDir();
      const graph = buildGraph([checkpointing(resumable)]);
      const out = path.join(prefix, graph.nodes[0].relPath);
      const resumeFolder = path.join(prefix, STAGING_ROOT, graph.nodes[0].relPath, RESUME_FOLDER);

      const first = await runGraph(graph, { prefix });
      expect(first.ok).toBe(false);
      expect(readFileSync(markerPaths(out).status, "utf8").trim()).toBe("FAILED");
      // Nothing of the failed attempt reached the output folder.
      expect(readdirSync(out)).toEqual([".kiln"]);
      expect(existsSync(path.join(resumeFolder, "ckpt/state.txt"))).toBe(resumable);
      if (!resumable) expect(existsSync(path.join(prefix, STAGING_ROOT))).toBe(false);

      const second = await runGraph(graph, { prefix, forceFailed: true });
      expect(second.ok).toBe(true);
      expect(second.outcomes[0].result).toEqual({ resumedFrom: resumable ? "attempt 1" : null });
      expect(readFileSync(path.join(out, "ckpt/state.txt"), "utf8")).toBe("attempt 2");
      expect(readdirSync(out).sort()).toEqual([".kiln", "ckpt", "final.txt"]);
      expect(existsSync(path.join(prefix, STAGING_ROOT))).toBe(false);
    });
  }

  it("does not resume from a folder whose commit was interrupted, nor under --force", async () => {
    const prefix = tempDir();
    const s = checkpointing(true);
    const graph = buildGraph([s]);
    const out = path.join(prefix, graph.nodes[0].relPath);
    const resumeFolder = path.join(prefix, STAGING_ROOT, graph.nodes[0].relPath, RESUME_FOLDER);
    expect((await runGraph(graph, { prefix })).ok).toBe(false);
    expect(existsSync(path.join(resumeFolder, "ckpt/state.txt"))).toBe(true);
    // As a commit killed half-way leaves it: marked, part of its files already moved.
    await localFileSystem.writeAtomic(path.join(resumeFolder, COMMIT_MARKER), "a-killed");
    await writeStatus(localFileSystem, out, "RUNNING");
    const again = await runGraph(graph, { prefix });
    expect(again.outcomes[0].result).toEqual({ resumedFrom: null });

    await localFileSystem.writeAtomic(path.join(resumeFolder, "ckpt/state.txt"), "left over");
    const forced = await runGraph(graph, { prefix, force: [/^resumable$/] });
    expect(forced.outcomes[0].state).toBe("ran");
    expect(forced.outcomes[0].result).toEqual({ resumedFrom: null });
  });
});
