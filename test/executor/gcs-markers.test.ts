import { describe, expect, it } from "vitest";
import { buildGraph } from "../../src/graph/dag.ts";
import { step } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { fileSystemFor } from "../../src/io/index.ts";
import { Lease, inspectLease } from "../../src/executor/lease.ts";
import { markerPaths } from "../../src/executor/markers.ts";
import { runGraph } from "../../src/executor/scheduler.ts";
import { useFakeGcs } from "../support/fake-gcs-suite.ts";
import { tempDir } from "../support/kiln-cli.ts";

useFakeGcs();

const fast = { heartbeatMs: 50, staleMs: 500 };

describe("step markers and leases on gs://", () => {
  it("runs a step into a gs:// prefix, writes markers there, and skips it the second time", async () => {
    const calls: string[] = [];
    const s = step({
      name: "remote",
      config: { k: versioned(Math.random()) },
      run: async (ctx) => {
        calls.push("remote");
        await ctx.writeFile("data/part-00000.txt", "hello");
        return { n: 1 };
      },
    });
    const prefix = "gs://bucket-a/kiln";
    const first = await runGraph(buildGraph([s]), { prefix, lease: fast });
    expect(first.ok, String((first.failed[0]?.error as Error)?.stack)).toBe(true);
    const out = first.outcomes[0].outputPath;
    expect(out).toMatch(/^gs:\/\/bucket-a\/kiln\/remote-[0-9a-f]{8}$/);
    const fs = fileSystemFor(out);
    expect((await fs.read(markerPaths(out).status)).toString().trim()).toBe("SUCCESS");
    expect(JSON.parse((await fs.read(markerPaths(out).info)).toString()).result).toEqual({ n: 1 });
    expect(await fs.exists(markerPaths(out).lease)).toBe(false);
    expect((await fs.read(`${out}/data/part-00000.txt`)).toString()).toBe("hello");
    const second = await runGraph(buildGraph([s]), { prefix, lease: fast });
    expect(second.outcomes[0].state).toBe("skipped");
    expect(calls).toEqual(["remote"]);
  });

  it("the heartbeat thread refreshes a gs:// lease (its own GCS client reaches the same endpoint)", async () => {
    // The fake server runs on this thread, so the step waits without blocking it; blocking the
    // step's thread is tested on local files (fencing.test.ts).
    let out = "";
    const s = step({
      name: "beating",
      config: { k: versioned(Math.random()) },
      run: async (ctx) => {
        const started = Date.now();
        const beats = new Set<number>();
        while (beats.size < 3 && Date.now() - started < 15_000) {
          const view = await inspectLease(ctx.fs, markerPaths(out).lease, fast);
          if (view.state === "live" && view.holder.heartbeatAt > started) beats.add(view.holder.heartbeatAt);
          await new Promise((r) => setTimeout(r, 20));
        }
        return { beats: beats.size };
      },
    });
    const graph = buildGraph([s]);
    out = `gs://bucket-a/kiln/${graph.nodes[0].relPath}`;
    const summary = await runGraph(graph, { prefix: "gs://bucket-a/kiln", lease: fast });
    expect(summary.ok, String((summary.failed[0]?.error as Error)?.message)).toBe(true);
    expect(summary.outcomes[0].result).toEqual({ beats: 3 });
  });

  it("conditional lease creation lets exactly one contender win, and a stale lease is taken over once", async () => {
    const path = "gs://bucket-a/leases/one/.kiln/lease";
    const fs = fileSystemFor(path);
    const contenders = Array.from({ length: 6 }, (_, i) => new Lease(fs, path, `owner-${i}`, fast));
    const first = await Promise.all(contenders.map((l) => l.tryAcquire()));
    expect(first.filter((r) => r.acquired)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 700));
    const view = await inspectLease(fs, path, fast);
    expect(view.state).toBe("stale");
    const again = await Promise.all(contenders.map((l) => l.tryAcquire()));
    expect(again.filter((r) => r.acquired)).toHaveLength(1);
  });

  it("copies a step finished in a gs:// region into a local home", async () => {
    const calls: string[] = [];
    const salt = Math.random();
    const make = () =>
      step({
        name: "regional",
        config: { salt: versioned(salt) },
        run: async (ctx) => {
          calls.push("regional");
          await ctx.writeFile("out.txt", "from the other region");
          return { ok: true };
        },
      });
    await runGraph(buildGraph([make()]), { prefix: "gs://bucket-b/kiln", lease: fast });
    const home = tempDir();
    const summary = await runGraph(buildGraph([make()]), { prefix: home, regions: ["gs://bucket-b/kiln"], lease: fast });
    expect(summary.outcomes[0].state).toBe("copied");
    expect(calls).toEqual(["regional"]);
    const local = fileSystemFor(summary.outcomes[0].outputPath);
    expect((await local.read(`${summary.outcomes[0].outputPath}/out.txt`)).toString()).toBe("from the other region");
    const info = JSON.parse((await local.read(markerPaths(summary.outcomes[0].outputPath).info)).toString());
    expect(info.provenance.region).toBe("gs://bucket-b/kiln");
  });
});
