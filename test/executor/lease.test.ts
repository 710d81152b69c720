import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../src/graph/dag.ts";
import { step } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { localFileSystem } from "../../src/io/index.ts";
import { Lease, inspectLease, type LeaseRecord } from "../../src/executor/lease.ts";
import { markerPaths, writeInfo, writeStatus } from "../../src/executor/markers.ts";
import { planRun, runGraph } from "../../src/executor/scheduler.ts";
import { tempDir } from "../support/kiln-cli.ts";

const fast = { heartbeatMs: 50, staleMs: 400 };

function counted(name: string, calls: string[], ms = 0) {
  return step({
    name,
    config: { k: versioned(Math.random()) },
    run: async () => {
      calls.push(name);
      await new Promise((r) => setTimeout(r, ms));
      return { ok: true };
    },
  });
}

function leaseRecord(over: Partial<LeaseRecord>): string {
  return JSON.stringify({ owner: "someone-else", host: "another-host", pid: 1, heartbeatAt: Date.now(), acquiredAt: Date.now(), ...over });
}

describe("leases", () => {
  it("a stale lease is taken over and the step runs", async () => {
    const prefix = tempDir();
    const calls: string[] = [];
    const s = counted("stale", calls);
    const graph = buildGraph([s]);
    const out = path.join(prefix, graph.nodes[0].relPath);
    await writeStatus(localFileSystem, out, "RUNNING");
    await localFileSystem.writeAtomic(markerPaths(out).lease, leaseRecord({ heartbeatAt: Date.now() - 10_000 }));
    const [plan] = await planRun(graph, { prefix, lease: fast });
    expect(plan.action).toBe("run");
    expect(plan.reason).toMatch(/take over stale lease \(no heartbeat for 10 s\)/);
    const logs: string[] = [];
    const summary = await runGraph(graph, { prefix, lease: fast, pollMs: 20, log: (l) => logs.push(l) });
    expect(summary.ok).toBe(true);
    expect(calls).toEqual(["stale"]);
    expect(logs.join("\n")).toContain("take over stale: stale lease");
    expect(readFileSync(markerPaths(out).status, "utf8").trim()).toBe("SUCCESS");
    expect(existsSync(markerPaths(out).lease)).toBe(false);
  });

  it("a live lease is waited on; when its owner finishes, the step is not run again", async () => {
    const prefix = tempDir();
    const calls: string[] = [];
    const s = counted("live", calls);
    const graph = buildGraph([s]);
    const node = graph.nodes[0];
    const out = path.join(prefix, node.relPath);
    await localFileSystem.writeAtomic(markerPaths(out).lease, leaseRecord({}));
    const beat = setInterval(() => void localFileSystem.writeAtomic(markerPaths(out).lease, leaseRecord({})), 50);
    const [plan] = await planRun(graph, { prefix, lease: fast });
    expect(plan.action).toBe("wait");
    expect(plan.reason).toMatch(/running under someone-else \(pid 1 on another-host/);

    const running = runGraph(graph, { prefix, lease: fast, pollMs: 20 });
    await new Promise((r) => setTimeout(r, 700)); // longer than staleMs: the heartbeat keeps it live
    expect(calls).toEqual([]);
    clearInterval(beat);
    await writeInfo(localFileSystem, out, {
      name: node.name, version: node.version, outputPath: out, versionedConfig: {}, config: {}, dependencies: {},
      codeFingerprint: "x", gitCommit: null, host: "another-host", pid: 1, startedAt: "", endedAt: "", durationMs: 5,
      counters: {}, result: { ok: "from the other owner" },
    });
    await writeStatus(localFileSystem, out, "SUCCESS");
    await localFileSystem.delete(markerPaths(out).lease);
    const summary = await running;
    expect(calls).toEqual([]);
    expect(summary.outcomes[0].state).toBe("skipped");
    expect(summary.outcomes[0].result).toEqual({ ok: "from the other owner" });
  });

  it("losing the lease mid-step fails the step, writes no marker and nothing of the attempt into the output", async () => {
    const prefix = tempDir();
    let out = "";
    const s = step({
      name: "loser",
      config: { k: versioned(Math.random()) },
      run: async (ctx) => {
        await ctx.writeFile("data/part-0.txt", "from the attempt that loses");
        await localFileSystem.writeAtomic(markerPaths(out).lease, leaseRecord({ owner: "thief", epoch: 7 }));
        await new Promise((r) => setTimeout(r, 300));
        expect(ctx.signal.aborted).toBe(true);
        return 1;
      },
    });
    const graph = buildGraph([s]);
    out = path.join(prefix, graph.nodes[0].relPath);
    const summary = await runGraph(graph, { prefix, lease: fast });
    expect(summary.ok).toBe(false);
    expect((summary.failed[0].error as { code: string }).code).toBe("KILN_LEASE_LOST");
    expect((summary.failed[0].error as Error).message).toContain("now held by thief on another-host (pid 1, epoch 7)");
    expect(readFileSync(markerPaths(out).status, "utf8").trim()).toBe("RUNNING");
    expect(JSON.parse(readFileSync(markerPaths(out).lease, "utf8")).owner).toBe("thief");
    expect(readdirSync(out)).toEqual([".kiln"]);
    expect(existsSync(path.join(prefix, ".kiln-staging"))).toBe(false);
  });

  it("only one of many concurrent take-overs of the same stale lease wins", async () => {
    const dir = tempDir();
    const leasePath = path.join(dir, "lease");
    await localFileSystem.writeAtomic(leasePath, leaseRecord({ heartbeatAt: Date.now() - 60_000 }));
    const contenders = Array.from({ length: 12 }, (_, i) => new Lease(localFileSystem, leasePath, `owner-${i}`, fast));
    const results = await Promise.all(contenders.map((l) => l.tryAcquire()));
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const view = await inspectLease(localFileSystem, leasePath, fast);
    expect(view.state).toBe("live");
    const winner = contenders[results.findIndex((r) => r.acquired)];
    expect(view.state === "live" && view.holder.owner).toBe(winner.owner);
  });
});
