/**
 * Packages that kiln loads only where they are used (DESIGN.md, "Packages loaded where they are
 * used"): `kiln`'s command-line module starts without BullMQ and ioredis, which only a command that
 * talks to Redis needs; @node-rs/xxhash is loaded with `require` through util/xxhash.ts (an ES import
 * of its CommonJS entry makes every thread run and optimize Node's export scanner over it); and
 * cli-progress is required when a bar is first drawn, through util/cli-progress.ts. The first test
 * starts a real node process; the others read kiln's sources.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { xxh3, xxh64 } from "../../src/util/xxhash.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = path.join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|mjs)$/.test(e.name) ? [full] : [];
  });
}

/** kiln's source files that import `pkg` for its values (not `import type`), relative to src/. */
function valueImportersOf(pkg: string): string[] {
  const pattern = new RegExp(`^import (?!type )[^;]*from "${pkg.replace(/[/.]/g, "\\$&")}";`, "m");
  return sourceFiles(SRC)
    .filter((file) => pattern.test(readFileSync(file, "utf8")))
    .map((file) => path.relative(SRC, file));
}

describe("packages loaded where they are used", () => {
  test("kiln's command-line module loads neither BullMQ nor ioredis until a command talks to Redis", () => {
    const script = [
      `const { createRequire } = await import("node:module");`,
      `await import(${JSON.stringify(path.join(SRC, "cli/main.ts"))});`,
      `const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules\\/(bullmq|ioredis)\\//.test(f));`,
      `const commander = Object.keys(createRequire(import.meta.url).cache).some((f) => /node_modules\\/commander\\//.test(f));`,
      `console.log(JSON.stringify({ loaded: loaded.length, commander }));`,
    ].join("\n");
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
    const result: unknown = JSON.parse(out.trim().split("\n").pop() ?? "{}");
    // commander (CommonJS, loaded by the same module) shows that the check sees packages that are loaded.
    expect(result).toEqual({ loaded: 0, commander: true });
  });

  test("@node-rs/xxhash is imported by util/xxhash.ts alone, and its hashes are the package's", () => {
    expect(valueImportersOf("@node-rs/xxhash")).toEqual([]);
    expect(readFileSync(path.join(SRC, "util/xxhash.ts"), "utf8")).toMatch(/createRequire\(import\.meta\.url\)\("@node-rs\/xxhash"\)/);
    // Published XXH3-64 and XXH64 values of the empty input with seed 0.
    expect(xxh3.xxh64("")).toBe(0x2d06800538d394c2n);
    expect(xxh64("")).toBe(0xef46db3751d8e999n);
  });

  test("cli-progress is required on first use through util/cli-progress.ts, never imported", () => {
    expect(valueImportersOf("cli-progress")).toEqual([]);
    expect(readFileSync(path.join(SRC, "util/cli-progress.ts"), "utf8")).toMatch(/requireHere\("cli-progress"\)/);
  });
});
