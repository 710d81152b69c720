/**
 * kiln's generated JavaScript files (src/util/built-files.ts): the heartbeat loop's bundle loads in
 * plain node, without tsx, and exports what its users call; writing a file of one kind keeps the
 * newest eight of that kind and touches no other kind.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, utimesSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
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
  test("the heartbeat loop's bundle loads in plain node and exports its entry", async () => {
    const file = sourceBundleFile("heartbeat", 1);
    if (!existsSync(file)) await buildSourceBundle(file, `export { serveHeartbeats } from ${JSON.stringify(path.join(ROOT, "src/executor/heartbeat-loop.ts"))};`);
    expect(exportsInPlainNode(file, ["serveHeartbeats"])).toEqual({ serveHeartbeats: "function" });
  });

  test("writing a file keeps the newest eight of its kind and leaves other kinds alone", () => {
    // Files of other kinds written by the tests above (other test files may add more meanwhile).
    const others = readdirSync(BUILT_DIR).filter((n) => /^heartbeat-/.test(n));
    expect(others.length).toBeGreaterThanOrEqual(1);
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
