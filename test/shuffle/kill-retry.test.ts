import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { listMapOutputs, readSidecar, removeUncommittedData } from "../../src/shuffle/index.ts";
import { listFiles, readAll, scatter, tempDir } from "./helpers.ts";

const child = fileURLToPath(new URL("./fixtures/mapper-child.ts", import.meta.url));
const reducerChild = fileURLToPath(new URL("./fixtures/reducer-child.ts", import.meta.url));
const COUNT = 3000;
let root: string;

beforeAll(async () => {
  root = await tempDir("kill");
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** Runs the mapper child; with `killAt`, SIGKILLs it as soon as that line appears on stdout. */
function runMapper(args: string[], killAt?: string, script = child): Promise<{ out: string; signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d) => {
      out += d;
      if (killAt && out.includes(killAt)) proc.kill("SIGKILL");
    });
    proc.stderr.on("data", (d) => (err += d));
    proc.on("error", reject);
    proc.on("exit", (code, signal) => (code && code !== 0 ? reject(new Error(`mapper failed (${code}): ${err}`)) : resolve({ out, signal, code })));
  });
}

describe("a map task killed mid-write and retried", () => {
  it("leaves no duplicates and no loss", async () => {
    const dir = `${root}/shuffle`;
    const killed = await runMapper([dir, "0", "a1", String(COUNT), "pause"], "halfway");
    expect(killed.signal).toBe("SIGKILL");
    expect(Number(/halfway (\d+)/.exec(killed.out)![1])).toBeGreaterThan(0);
    // The killed attempt left a partial data file but no sidecar, so nothing is visible to readers.
    const files = await fsp.readdir(dir);
    expect(files.filter((f) => f.endsWith(".data"))).toEqual(["map-0.attempt-a1.data"]);
    expect((await fsp.stat(`${dir}/map-0.attempt-a1.data`)).size).toBeGreaterThan(0);
    expect(await listMapOutputs(dir)).toEqual([]);

    // The retry commits; a duplicate execution of the same task later commits again.
    expect((await runMapper([dir, "0", "a2", String(COUNT), "run"])).out).toContain("committed");
    await runMapper([dir, "1", "b1", String(COUNT), "run"]);
    await runMapper([dir, "0", "a3", String(COUNT), "run"]);

    const outputs = await listMapOutputs(dir);
    expect(outputs).toHaveLength(2);
    expect((await readSidecar(outputs[0])).body.attempt).toBe("a3");
    const seen = new Map<string, number>();
    for (let p = 0; p < 3; p++) {
      const { entries } = await readAll<{ id: number; text: string }>({ mapOutputs: outputs, partition: p });
      for (const e of entries) {
        const id = e.record.text.slice(0, e.record.text.indexOf(":"));
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(2 * COUNT);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    // Once the stage is done, the killed and superseded attempts' data files can go.
    const removed = (await removeUncommittedData(dir)).map((p) => p.slice(p.lastIndexOf("/") + 1)).sort();
    expect(removed).toEqual(["map-0.attempt-a1.data", "map-0.attempt-a2.data"]);
    expect((await fsp.readdir(dir)).filter((f) => f.endsWith(".data")).sort()).toEqual(["map-0.attempt-a3.data", "map-1.attempt-b1.data"]);
  });
});

describe("a reduce task killed while spilling and retried", () => {
  it("leaves no spill files behind and reads every record once", async () => {
    const dir = `${root}/reduce`;
    const spill = `${root}/reduce-spill`;
    const records = Array.from({ length: 4000 }, (_, i) => ({ id: i, key: `k${i % 13}`, text: `record ${i} with some text to make frames bigger` }));
    await scatter([records.slice(0, 2000), records.slice(2000)], { outputDir: dir, numPartitions: 1, key: (r) => r.key, memoryBudgetBytes: 16 * 1024 });

    const killed = await runMapper([dir, spill, "0", "pause"], "spilled", reducerChild);
    expect(killed.signal).toBe("SIGKILL");
    expect(Number(/spilled (\d+)/.exec(killed.out)![1])).toBeGreaterThan(1);
    const left = await listFiles(spill);
    expect(left).toHaveLength(1);
    expect((await listFiles(`${spill}/${left[0]}`)).length).toBeGreaterThan(0);

    const retried = await runMapper([dir, spill, "0", "run"], undefined, reducerChild);
    const { ids } = JSON.parse(retried.out.trim()) as { ids: number[] };
    expect(ids).toHaveLength(records.length);
    expect(new Set(ids).size).toBe(records.length);
    expect(await listFiles(spill)).toEqual([]);
  });
});
