/**
 * The user's TypeScript function modules reach pool workers precompiled (src/dataset/exec/user-modules.ts):
 * the coordinator bundles a module and its local imports into one JavaScript file, the worker runs
 * the function from that file with the module's own URL, dirname and filename (its local imports'
 * too), and a module that reads more of `import.meta`, imports a package of its own project, or
 * whose file is gone when the worker imports it is loaded through tsx instead.
 */
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn } from "../../src/index.ts";
import { createPoolRunner } from "../../src/internal.ts";
import { buildUserModule, precompiled } from "../../src/dataset/exec/user-modules.ts";
import { withKilnError } from "./fixtures/kiln-import-fns.ts";
import { runningIn } from "./fixtures/pruned-fns.ts";
import { whereLoaded } from "./fixtures/precompiled-fns.ts";
import { resolvedSibling } from "./fixtures/unbundled-fns.ts";
import { makeRows, tempDir, writeParquetParts } from "./helpers.ts";

const FIXTURES = path.join(import.meta.dirname, "fixtures");
const url = (name: string) => pathToFileURL(path.join(FIXTURES, name)).href;
const tmp = tempDir();
const workers = createPoolRunner({ threads: 1 });
const rows = makeRows(0, 30);
beforeAll(() => writeParquetParts(path.join(tmp.dir, "in"), rows, 3));
afterAll(async () => {
  await workers.close();
  tmp.cleanup();
});

describe("user function modules precompiled for pool workers", () => {
  test("a worker runs the function from the precompiled file, with the module's own location", async () => {
    const file = await precompiled(url("precompiled-fns.ts"));
    expect(file).toMatch(/node_modules\/\.cache\/kiln-worker\/user-[0-9a-f]{16}\.mjs$/);
    const ds = Dataset.read<{ n: number }>(path.join(tmp.dir, "in/*.parquet")).map(fn(url("precompiled-fns.ts"), whereLoaded));
    const { rows: out } = await executeDataset(ds, { runner: workers, progress: false });
    expect(out.map((r) => r.n).sort((a, b) => a - b)).toEqual(rows.map((r) => r.n));
    expect(new Set(out.map((r) => r.file))).toEqual(new Set([pathToFileURL(file!).href]));
    const expected = { url: url("precompiled-fns.ts"), dirname: FIXTURES, filename: path.join(FIXTURES, "precompiled-fns.ts"), helper: url("precompiled-helper.ts") };
    for (const r of out) expect(r).toMatchObject(expected);
    expect(out.every((r) => r.packed > 0)).toBe(true);
  });

  test("a module that resolves specifiers through import.meta.resolve is loaded through tsx", async () => {
    expect(await precompiled(url("unbundled-fns.ts"))).toBeNull();
    const ds = Dataset.read<{ n: number }>(path.join(tmp.dir, "in/*.parquet")).map(fn(url("unbundled-fns.ts"), resolvedSibling));
    const { rows: out } = await executeDataset(ds, { runner: workers, progress: false });
    expect(out.length).toBe(rows.length);
    for (const r of out) {
      // tsx serves the thread's TypeScript under a namespace of its own (the URL's query).
      expect(r.sibling.split("?")[0]).toBe(url("precompiled-helper.ts"));
      expect(r.file.split("?")[0]).toMatch(/fixtures\/unbundled-fns\.ts$/);
    }
  });

  test("a module whose package the cache folder would not find is loaded through tsx", async () => {
    const project = path.join(tmp.dir, "project");
    mkdirSync(path.join(project, "node_modules/own-package"), { recursive: true });
    writeFileSync(path.join(project, "node_modules/own-package/package.json"), JSON.stringify({ name: "own-package", type: "module", main: "index.js" }));
    writeFileSync(path.join(project, "node_modules/own-package/index.js"), "export const answer = 42;\n");
    writeFileSync(path.join(project, "fns.ts"), 'import { answer } from "own-package";\nexport const withAnswer = (row: { n: number }) => ({ ...row, answer });\n');
    writeFileSync(path.join(project, "plain.ts"), "export const plain = (row: { n: number }) => row;\n");
    expect(await precompiled(pathToFileURL(path.join(project, "fns.ts")).href)).toBeNull();
    expect(await precompiled(pathToFileURL(path.join(project, "plain.ts")).href)).toMatch(/user-[0-9a-f]{16}\.mjs$/);
  });

  test("a module that imports kiln by its package name is precompiled with kiln bundled in", async () => {
    const file = await precompiled(url("kiln-import-fns.ts"));
    expect(file).toMatch(/user-[0-9a-f]{16}\.mjs$/);
    const ds = Dataset.read<{ n: number }>(path.join(tmp.dir, "in/*.parquet")).map(fn(url("kiln-import-fns.ts"), withKilnError));
    const { rows: out } = await executeDataset(ds, { runner: workers, progress: false });
    expect(out.length).toBe(rows.length);
    for (const r of out) expect(r).toMatchObject({ code: "KILN_TEST_CODE", file: pathToFileURL(file!).href });
  });

  test("a precompiled module is kept while its files are unchanged and built again when one changes", async () => {
    const dir = path.join(tmp.dir, "rebuilt");
    mkdirSync(dir, { recursive: true });
    const entry = path.join(dir, "fns.ts");
    const helper = path.join(dir, "helper.ts");
    writeFileSync(helper, 'export const version = "one";\n');
    writeFileSync(entry, 'import { version } from "./helper.ts";\nexport const tag = (row: { n: number }) => ({ ...row, version });\n');
    const first = await buildUserModule(entry);
    const inode = statSync(first).ino;
    expect(await buildUserModule(entry)).toBe(first);
    expect(statSync(first).ino).toBe(inode);
    writeFileSync(helper, 'export const version = "two";\n');
    const later = new Date(Date.now() + 2000);
    utimesSync(helper, later, later);
    expect(await buildUserModule(entry)).toBe(first);
    expect(statSync(first).ino).not.toBe(inode);
    expect(readFileSync(first, "utf8")).toContain('"two"');
  });

  test("a worker whose precompiled file was removed meanwhile (pruned by another process) loads the module through tsx", async () => {
    const file = await precompiled(url("pruned-fns.ts"));
    expect(file).toMatch(/user-[0-9a-f]{16}\.mjs$/);
    rmSync(file!);
    const ds = Dataset.read<{ n: number }>(path.join(tmp.dir, "in/*.parquet")).map(fn(url("pruned-fns.ts"), runningIn));
    const { rows: out } = await executeDataset(ds, { runner: workers, progress: false });
    expect(out.map((r) => r.n).sort((a, b) => a - b)).toEqual(rows.map((r) => r.n));
    for (const r of out) expect(r.file.split("?")[0]).toMatch(/fixtures\/pruned-fns\.ts$/);
  });
});
