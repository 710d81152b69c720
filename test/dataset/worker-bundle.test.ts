/**
 * Pool workers start from the precompiled engine (src/dataset/exec/worker-bundle.ts): the bundle
 * loads in plain node with each module's own file URL kept, a pool runs built-in operators from it
 * and the user's TypeScript functions through tsx in the same worker, and KILN_WORKER_BUNDLE=off
 * gives the same rows from workers that load everything through tsx. In a process started with
 * `--import tsx`, the workers start without it (src/util/thread-argv.ts) and still run the user's
 * TypeScript, bundle or not.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn, where } from "../../src/index.ts";
import { createPoolRunner } from "../../src/internal.ts";
import { workerBundle } from "../../src/dataset/exec/worker-bundle.ts";
import { rejectRow, tagEngine } from "./fixtures/bundle-fns.ts";
import { makeRows, tempDir, writeParquetParts } from "./helpers.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FNS = pathToFileURL(path.join(import.meta.dirname, "fixtures/bundle-fns.ts")).href;
const tmp = tempDir();
const workers = createPoolRunner({ threads: 1 });
beforeAll(() => writeParquetParts(path.join(tmp.dir, "in"), makeRows(0, 60), 3));
afterAll(async () => {
  await workers.close();
  tmp.cleanup();
});

describe("the pool workers' precompiled engine", () => {
  test("loads in plain node, keeps each module's URL and exports the task runner", async () => {
    const file = await workerBundle();
    expect(file).toMatch(/node_modules\/\.cache\/kiln-worker\/worker-[0-9a-f]{16}\.mjs$/);
    const records = pathToFileURL(path.join(ROOT, "src/steps/normalize/records.ts")).href;
    const probe = `const b = await import(${JSON.stringify(pathToFileURL(file!).href)});
      const m = b.bundledModules.get(${JSON.stringify(records)});
      console.log(JSON.stringify({ runner: typeof b.runTaskInWorker, url: m.NORMALIZE_FUNCTIONS, modules: b.bundledModules.size }));`;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", probe], { cwd: ROOT, encoding: "utf8" }));
    expect(out.runner).toBe("function");
    expect(out.url).toBe(records);
    expect(out.modules).toBeGreaterThan(50);
  });

  test("a pool runs built-in reads and filters from it and the user's TypeScript function through tsx", async () => {
    const rows = makeRows(0, 60);
    const ds = Dataset.read<{ n: number; lang: string }>(path.join(tmp.dir, "in/*.parquet")).filter(where("lang", "==", "en")).map(fn(FNS, tagEngine));
    const { rows: out } = await executeDataset(ds, { runner: workers, progress: false });
    const expected = rows.filter((r) => r.lang === "en").map((r) => r.n).sort((a, b) => a - b);
    expect(out.map((r) => r.n).sort((a, b) => a - b)).toEqual(expected);
    expect(new Set(out.map((r) => r.bundle))).toEqual(new Set([await workerBundle()]));
    expect(tagEngine({ n: 1 }).bundle).toBeNull();
  });

  test("a kiln error raised by the user's copy of kiln keeps its code and fails the task without a retry", async () => {
    const ds = Dataset.read<{ n: number }>(path.join(tmp.dir, "in/*.parquet")).map(fn(FNS, rejectRow));
    const failure = await executeDataset(ds, { runner: workers, progress: false }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({ code: "KILN_TEST_BAD_RECORD" });
    expect(String(failure)).toMatch(/attempt 1\)/);
  });

  /** Runs the plan in a child process started with `--import tsx`; its rows as the user function tagged them. */
  function runUnderTsx(env: Record<string, string>): { n: number; bundle: string | null; execArgv: string[] }[] {
    const script = `import { Dataset, executeDataset, fn, where } from ${JSON.stringify(pathToFileURL(path.join(ROOT, "src/index.ts")).href)};
      const ds = Dataset.read(${JSON.stringify(path.join(tmp.dir, "in/*.parquet"))}).filter(where("lang", "==", "en")).map(fn(${JSON.stringify(FNS)}, "tagEngine"));
      const { rows } = await executeDataset(ds, { threads: 1, progress: false });
      console.log(JSON.stringify(rows));`;
    const probe = path.join(tmp.dir, "probe.mts");
    writeFileSync(probe, script);
    return JSON.parse(execFileSync(process.execPath, ["--import", "tsx", probe], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } }).trim().split("\n").pop()!);
  }
  const english = makeRows(0, 60).filter((r) => r.lang === "en").length;

  test("workers of a process started with --import tsx do not inherit it and still run the user's TypeScript", () => {
    const out = runUnderTsx({});
    expect(out.length).toBe(english);
    expect(out.every((r) => typeof r.bundle === "string")).toBe(true);
    expect(out.flatMap((r) => r.execArgv).filter((a) => a.includes("tsx"))).toEqual([]);
  });

  test("KILN_WORKER_BUNDLE=off runs the same plan with workers that load everything through tsx", () => {
    const out = runUnderTsx({ KILN_WORKER_BUNDLE: "off" });
    expect(out.length).toBe(english);
    expect(out.every((r) => r.bundle === null)).toBe(true);
    expect(out.flatMap((r) => r.execArgv).filter((a) => a.includes("tsx"))).toEqual([]);
  });
});
