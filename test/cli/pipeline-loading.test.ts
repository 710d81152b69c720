/**
 * Loading pipeline modules the way a new user writes them: a pipeline.ts in a folder of its own
 * (no package.json, or a CommonJS one) that imports kiln by path or as the "kiln" package, with
 * its own local helper modules. Also what the user sees when the module has a syntax error or
 * throws while it is imported, and `kiln --version`. Every case runs the real kiln command.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, repoRoot, runKiln, tempDir } from "../support/kiln-cli.ts";

const kilnEntry = path.join(repoRoot, "src/index.ts");

/** A helper module and a pipeline that imports kiln through `kilnImport`; both report their module format. */
function writeUserPipeline(dir: string, kilnImport: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "helpers.ts"),
    [
      `import { step } from ${JSON.stringify(kilnImport)};`,
      `export const helperFormat: string = typeof module === "undefined" ? "esm" : "commonjs";`,
      `export const words = step({ name: "words", run: () => ({ words: ["kiln", "loads", "this"] }) });`,
    ].join("\n"),
  );
  const file = path.join(dir, "pipeline.ts");
  writeFileSync(
    file,
    [
      `import { step } from ${JSON.stringify(kilnImport)};`,
      `import { helperFormat, words } from "./helpers";`,
      `const format: string = typeof module === "undefined" ? "esm" : "commonjs";`,
      `export const count = step({`,
      `  name: "count",`,
      `  inputs: { words },`,
      `  run: (ctx) => ({ n: ctx.inputs.words.result.words.length, format, helperFormat }),`,
      `});`,
    ].join("\n"),
  );
  return file;
}

function resultOf(prefix: string, stepName: string): unknown {
  const folder = readdirSync(prefix).find((d) => d.startsWith(`${stepName}-`));
  expect(folder, `no output folder for ${stepName} in ${prefix}`).toBeDefined();
  return JSON.parse(readFileSync(path.join(prefix, folder!, ".kiln/info.json"), "utf8")).result;
}

async function expectRunsAsEsm(file: string, prefix: string): Promise<void> {
  const res = await runKiln(["run", file, "--prefix", prefix]);
  expect(res.code, res.stderr).toBe(0);
  expect(res.stderr).toContain("ran 2, skipped 0");
  expect(resultOf(prefix, "count")).toEqual({ n: 3, format: "esm", helperFormat: "esm" });
}

describe("a pipeline outside a \"type\": \"module\" package", () => {
  it("loads when it imports kiln by absolute path from a folder without package.json", async () => {
    const dir = tempDir("kiln-user-");
    await expectRunsAsEsm(writeUserPipeline(path.join(dir, "project"), kilnEntry), path.join(dir, "out"));
  });

  it("loads when it imports \"kiln\" through node_modules from a CommonJS package", async () => {
    const dir = tempDir("kiln-user-");
    const project = path.join(dir, "project");
    mkdirSync(path.join(project, "node_modules"), { recursive: true });
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "my-data", type: "commonjs" }));
    symlinkSync(repoRoot, path.join(project, "node_modules/kiln"), "dir");
    await expectRunsAsEsm(writeUserPipeline(project, "kiln"), path.join(dir, "out"));
  });

  it("runs a dataset whose functions live in that pipeline module on worker threads", async () => {
    const dir = tempDir("kiln-user-");
    const file = path.join(dir, "pipeline.ts");
    writeFileSync(
      file,
      [
        `import { Dataset, fn, runDataset, step } from ${JSON.stringify(kilnEntry)};`,
        `export function square(row: { n: number }) { return { n: row.n * row.n }; }`,
        `export const squares = step({`,
        `  name: "squares",`,
        `  run: async (ctx) => {`,
        `    const ds = Dataset.fromItems([1, 2, 3, 4].map((n) => ({ n })), { shards: 2 }).map(fn(import.meta.url, square));`,
        `    const out = await runDataset(ctx, ds, { threads: 2, progress: false });`,
        `    return { squares: out.rows.map((r) => r.n).sort((a, b) => a - b) };`,
        `  },`,
        `});`,
      ].join("\n"),
    );
    const res = await runKiln(["run", file, "--prefix", path.join(dir, "out")]);
    expect(res.code, res.stderr).toBe(0);
    expect(resultOf(path.join(dir, "out"), "squares")).toEqual({ squares: [1, 4, 9, 16] });
  });
});

describe("a pipeline module that does not load", () => {
  it("with a syntax error shows the compiler's message at file:line:column and the line", async () => {
    const dir = tempDir("kiln-user-");
    const file = path.join(dir, "pipeline.ts");
    const bad = `export const broken = step({ name: "broken", run: () => ({ n: 1 }) );`;
    writeFileSync(file, [`import { step } from ${JSON.stringify(kilnEntry)};`, "", bad].join("\n"));
    const res = await runKiln(["run", file, "--prefix", path.join(dir, "out")]);
    expect(res.code).toBe(2);
    const column = bad.lastIndexOf(")") + 1;
    expect(res.stderr).toContain(`syntax error in pipeline module ${file}`);
    expect(res.stderr).toContain(`${file}:3:${column}: Expected "}" but found ")"`);
    expect(res.stderr).toContain(`3 | ${bad}`);
    expect(res.stderr).toContain(`| ${" ".repeat(column - 1)}^`);
    expect(res.stderr).not.toContain("Transform failed");
  });

  it("with a syntax error in a module it imports names that module", async () => {
    const dir = tempDir("kiln-user-");
    writeFileSync(path.join(dir, "helper.ts"), "export const value = [1, 2;\n");
    const file = path.join(dir, "pipeline.ts");
    writeFileSync(file, `import { step } from ${JSON.stringify(kilnEntry)};\nimport { value } from "./helper.ts";\nexport const s = step({ name: "s", run: () => value });\n`);
    const res = await runKiln(["graph", file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(new RegExp(`${path.join(dir, "helper.ts").replace(/[.]/g, "\\.")}:1:\\d+: Expected "\\]" but found ";"`));
  });

  it("that throws while it is imported shows the message and the frames in the module", async () => {
    const file = fixturePipeline("throws-on-import.ts");
    const lines = readFileSync(file, "utf8").split("\n");
    const throwLine = lines.findIndex((l) => l.includes("throw new Error")) + 1;
    const callLine = lines.findIndex((l) => l.includes("= readSettings()")) + 1;
    const res = await runKiln(["run", file, "--prefix", tempDir()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`failed to import pipeline module ${file}: settings file is missing`);
    const frames = res.stderr.split("\n").filter((l) => l.trim().startsWith("at "));
    expect(frames[0]).toMatch(new RegExp(`at readSettings \\(${file}:${throwLine}:\\d+\\)`));
    expect(frames[1]).toContain(`${file}:${callLine}:`);
    // Frames of kiln's own loader and command line are not the user's concern.
    expect(frames.some((f) => f.includes("/src/cli/") || f.includes("/src/graph/"))).toBe(false);
  });
});

describe("kiln --version", () => {
  it("prints the version in package.json", async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ["--version", "-V"]) {
      const res = await runKiln([flag]);
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(`${version}\n`);
    }
  });
});
