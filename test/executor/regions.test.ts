import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../src/graph/dag.ts";
import { step } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { runGraph } from "../../src/executor/scheduler.ts";
import { tempDir } from "../support/kiln-cli.ts";

function twoSteps(calls: string[], salt: number) {
  const produce = step({
    name: "produce",
    config: { salt: versioned(salt) },
    run: async (ctx) => {
      calls.push("produce");
      await ctx.writeFile("data/part-00000.txt", "hello ".repeat(1000));
      await ctx.writeFile("data/part-00001.txt", "world ".repeat(1000));
      return { files: 2 };
    },
  });
  const consume = step({
    name: "consume",
    inputs: { data: produce.output("data") },
    run: async (ctx) => {
      calls.push("consume");
      const text = readFileSync(path.join(ctx.inputs.data.path, "part-00000.txt"), "utf8");
      return { from: ctx.inputs.data.path, upstreamFiles: ctx.inputs.data.result.files, chars: text.length };
    },
  });
  return { produce, consume };
}

describe("regions", () => {
  it("copies a step finished only in another region into home, records provenance, and does not run it", async () => {
    const regionB = tempDir();
    const home = tempDir();
    const calls: string[] = [];
    const salt = Math.random();
    const inB = twoSteps(calls, salt);
    expect((await runGraph(buildGraph([inB.produce]), { prefix: regionB })).ok).toBe(true);
    expect(calls).toEqual(["produce"]);

    const inHome = twoSteps(calls, salt);
    const logs: string[] = [];
    const summary = await runGraph(buildGraph([inHome.consume]), { prefix: home, regions: [regionB], log: (l) => logs.push(l) });
    expect(summary.ok).toBe(true);
    expect(calls).toEqual(["produce", "consume"]);
    const [produced, consumed] = summary.outcomes;
    expect(produced.state).toBe("copied");
    expect(produced.outputPath.startsWith(home)).toBe(true);
    const rel = path.relative(home, produced.outputPath);
    expect(readFileSync(path.join(home, rel, "data/part-00001.txt"), "utf8")).toBe(readFileSync(path.join(regionB, rel, "data/part-00001.txt"), "utf8"));
    expect(readFileSync(path.join(home, rel, ".kiln/status"), "utf8").trim()).toBe("SUCCESS");
    const info = JSON.parse(readFileSync(path.join(home, rel, ".kiln/info.json"), "utf8"));
    expect(info.provenance).toMatchObject({ region: regionB, sourcePath: path.join(regionB, rel), files: 2, bytes: 12000, mode: "copy" });
    expect(info.result).toEqual({ files: 2 });
    expect(consumed.result).toMatchObject({ from: path.join(home, rel, "data"), upstreamFiles: 2, chars: 6000 });
    expect(logs.join("\n")).toMatch(/copy produce: 2 files, 11\.7 KiB from region/);

    // Now home has it: a further run neither copies nor runs.
    const again = await runGraph(buildGraph([twoSteps(calls, salt).consume]), { prefix: home, regions: [regionB] });
    expect(again.outcomes.map((o) => o.state)).toEqual(["skipped", "skipped"]);
  });

  it("a copied step's info.json points into home (its output and its dependencies); the origin stays in provenance", async () => {
    const regionB = tempDir();
    const home = tempDir();
    const calls: string[] = [];
    const salt = Math.random();
    const inB = await runGraph(buildGraph([twoSteps(calls, salt).consume]), { prefix: regionB });
    expect(inB.ok).toBe(true);
    const summary = await runGraph(buildGraph([twoSteps(calls, salt).consume]), { prefix: home, regions: [regionB] });
    expect(summary.outcomes.map((o) => o.state)).toEqual(["copied", "copied"]);
    expect(calls).toEqual(["produce", "consume"]);
    const [produced, consumed] = summary.outcomes.map((o) => path.relative(home, o.outputPath));
    const info = JSON.parse(readFileSync(path.join(home, consumed, ".kiln/info.json"), "utf8"));
    const origin = JSON.parse(readFileSync(path.join(regionB, consumed, ".kiln/info.json"), "utf8"));
    expect(origin.outputPath).toBe(path.join(regionB, consumed));
    expect(origin.dependencies.data.path).toBe(path.join(regionB, produced, "data"));
    expect(info.outputPath).toBe(path.join(home, consumed));
    expect(info.dependencies).toEqual({ data: { path: path.join(home, produced, "data"), version: origin.dependencies.data.version } });
    expect(info.provenance).toMatchObject({ region: regionB, sourcePath: path.join(regionB, consumed), mode: "copy" });
    expect(info.result).toEqual(origin.result);
    expect(readdirSync(home).sort()).toEqual([consumed, produced].sort());
  });

  it("reads in place by policy, writing nothing into home for that step", async () => {
    const regionB = tempDir();
    const home = tempDir();
    const calls: string[] = [];
    const salt = Math.random();
    await runGraph(buildGraph([twoSteps(calls, salt).produce]), { prefix: regionB });
    const summary = await runGraph(buildGraph([twoSteps(calls, salt).consume]), { prefix: home, regions: [regionB], regionPolicy: "read" });
    expect(summary.ok).toBe(true);
    const [produced, consumed] = summary.outcomes;
    expect(produced.state).toBe("read-in-place");
    expect(produced.outputPath.startsWith(regionB)).toBe(true);
    expect(existsSync(path.join(home, path.relative(regionB, produced.outputPath)))).toBe(false);
    expect((consumed.result as { from: string }).from.startsWith(regionB)).toBe(true);
    expect(calls).toEqual(["produce", "consume"]);
  });

  it("refuses a copy over the transfer budget, saying how to proceed", async () => {
    const regionB = tempDir();
    const home = tempDir();
    const calls: string[] = [];
    const salt = Math.random();
    await runGraph(buildGraph([twoSteps(calls, salt).produce]), { prefix: regionB });
    const summary = await runGraph(buildGraph([twoSteps(calls, salt).consume]), { prefix: home, regions: [regionB], transferBudgetBytes: 1000 });
    expect(summary.ok).toBe(false);
    expect(summary.failed[0].node.name).toBe("produce");
    expect((summary.failed[0].error as Error).message).toMatch(/would exceed the transfer budget \(1000 B left\)/);
    expect(summary.outcomes[1].state).toBe("dep-failed");
    expect(calls).toEqual(["produce"]);
  });

  it("fails a step whose input sub-path does not exist in the dependency's output", async () => {
    const prefix = tempDir();
    const dep = step({ name: "dep", config: { s: versioned(Math.random()) }, run: async (ctx) => void (await ctx.writeFile("a.txt", "x")) });
    const user = step({ name: "user", inputs: { x: dep.output("missing/dir") }, run: async () => 1 });
    const summary = await runGraph(buildGraph([user]), { prefix });
    expect(summary.ok).toBe(false);
    expect((summary.failed[0].error as { code: string }).code).toBe("KILN_MISSING_INPUT");
    expect((summary.failed[0].error as Error).message).toMatch(/input 'x' of step 'user' points to .*missing\/dir, which does not exist/);
  });
});
