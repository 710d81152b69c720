/**
 * kiln's generated JavaScript files (src/util/built-files.ts): apache-arrow as one file (io/arrow.ts)
 * and the heartbeat loop's bundle both load in plain node, without tsx, and export what their users
 * call; writing a file of one kind keeps the newest eight of that kind and touches no other kind.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, utimesSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { loadArrow } from "../../src/io/arrow.ts";
import { BUILT_DIR, buildSourceBundle, builtFile, sourceBundleFile, writeBuiltFile } from "../../src/util/built-files.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Imports `file` in a plain node process (no tsx) and returns the typeof of each named export. */
function exportsInPlainNode(file: string, names: string[]): Record<string, string> {
  const probe = `const m = await import(${JSON.stringify(pathToFileURL(file).href)});
    console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, typeof m[n]]))));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", probe], { cwd: ROOT, encoding: "utf8" }));
}

const testKind = "test-prune";
const testFiles = () => readdirSync(BUILT_DIR).filter((n) => n.startsWith(`${testKind}-`));
afterAll(() => {
  for (const name of testFiles()) rmSync(path.join(BUILT_DIR, name), { force: true });
});

describe("kiln's generated files", () => {
  test("apache-arrow loads as one built file that plain node can import", async () => {
    const arrow = await loadArrow();
    const built = readdirSync(BUILT_DIR).filter((n) => /^arrow-[0-9a-f]{16}\.mjs$/.test(n));
    expect(built.length).toBeGreaterThan(0);
    const newest = built.map((n) => path.join(BUILT_DIR, n)).sort().at(-1)!;
    expect(exportsInPlainNode(newest, ["tableToIPC", "makeData", "Utf8"])).toEqual({ tableToIPC: "function", makeData: "function", Utf8: "function" });
    const schema = new arrow.Schema([new arrow.Field("x", new arrow.Float64(), true)]);
    const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: 0, nullCount: 0, children: [arrow.makeData({ type: new arrow.Float64(), length: 0 })] });
    expect(arrow.tableToIPC(new arrow.Table(schema, [new arrow.RecordBatch(schema, data)]), "stream").byteLength).toBeGreaterThan(0);
  });

  test("the heartbeat loop's bundle loads in plain node and exports its entry", async () => {
    const file = sourceBundleFile("heartbeat", 1);
    if (!existsSync(file)) await buildSourceBundle(file, `export { serveHeartbeats } from ${JSON.stringify(path.join(ROOT, "src/executor/heartbeat-loop.ts"))};`);
    expect(exportsInPlainNode(file, ["serveHeartbeats"])).toEqual({ serveHeartbeats: "function" });
  });

  test("writing a file keeps the newest eight of its kind and leaves other kinds alone", () => {
    // Files of other kinds written by the tests above (other test files may add more meanwhile).
    const others = readdirSync(BUILT_DIR).filter((n) => /^(arrow|heartbeat)-/.test(n));
    expect(others.length).toBeGreaterThanOrEqual(2);
    const keys = Array.from({ length: 10 }, (_, i) => i.toString(16).padStart(16, "0"));
    keys.forEach((key, i) => {
      const file = builtFile(testKind, key);
      writeBuiltFile(file, new TextEncoder().encode(`export const n = ${i};\n`));
      // Distinct modification times, oldest first.
      utimesSync(file, new Date(1e12 + i * 1000), new Date(1e12 + i * 1000));
    });
    expect(testFiles().sort()).toEqual(keys.slice(2).map((k) => `${testKind}-${k}.mjs`));
    for (const name of others) expect(existsSync(path.join(BUILT_DIR, name))).toBe(true);
  });
});
