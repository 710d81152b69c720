import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Lineage, LineageInput, LineageStep } from "../../src/report/lineage/index.ts";
import { fixturePipeline, runKiln, tempDir } from "../support/kiln-cli.ts";
import { outputOf, reportCommand } from "./helpers.ts";

const pipelineFile = fixturePipeline("lineage-mini.ts");
const TEXT = "alpha beta gamma\ndelta epsilon\nzeta\n";
let sourceFile = "";

beforeAll(() => {
  sourceFile = path.join(tempDir("kiln-lineage-src-"), "notes.txt");
  writeFileSync(sourceFile, TEXT);
  // The fixture reads this when it is imported (by `kiln run` children and by --pipeline here).
  process.env.KILN_TEST_LINEAGE_SOURCE = sourceFile;
});

async function run(prefix: string, ...extra: string[]): Promise<void> {
  const res = await runKiln(["run", pipelineFile, "--prefix", prefix, ...extra], { KILN_TEST_LINEAGE_SOURCE: sourceFile });
  expect(res.code, res.stderr).toBe(0);
}

function only(input: LineageInput): LineageStep {
  if (!("step" in input)) throw new Error(`input ${input.input} was not expanded: ${JSON.stringify(input)}`);
  return input.step;
}

/** count ← upper ← download, each through its only input. */
function chain(lineage: Lineage): LineageStep[] {
  const count = lineage.root;
  const upper = only(count.inputs[0]);
  const download = only(upper.inputs[0]);
  return [count, upper, download];
}

async function lineageJson(...args: string[]): Promise<Lineage> {
  return JSON.parse(await reportCommand(["lineage", ...args, "--json"]));
}

function rewriteDependencies(stepDir: string, from: string, to: string): void {
  const file = path.join(stepDir, ".kiln/info.json");
  const info = JSON.parse(readFileSync(file, "utf8"));
  for (const dep of Object.values(info.dependencies) as Array<{ path: string }>) dep.path = dep.path.replace(from, to);
  writeFileSync(file, JSON.stringify(info, null, 2));
}

describe("kiln lineage", () => {
  it("traces the last step's output file back to the downloaded file and its sha256, with each step's record", async () => {
    const prefix = path.join(tempDir(), "out");
    await run(prefix);
    const target = path.join(outputOf(prefix, "stats/count"), "out/count.json");
    const lineage = await lineageJson(target);
    expect(lineage.file).toBe("out/count.json");
    const [count, upper, download] = chain(lineage);
    expect([count.name, upper.name, download.name]).toEqual(["stats/count", "lines/upper", "download/local"]);
    expect(count.inputs[0]).toMatchObject({ input: "text", path: path.join(outputOf(prefix, "lines/upper"), "upper.txt") });
    expect(upper.inputs[0]).toMatchObject({ input: "download", path: outputOf(prefix, "download/local") });
    expect(download.inputs).toEqual([]);
    expect(download.files).toEqual([
      { path: "notes/notes.txt", bytes: Buffer.byteLength(TEXT), sha256: createHash("sha256").update(TEXT).digest("hex"), source: "notes" },
    ]);
    for (const s of [count, upper, download]) {
      expect(s.version).toMatch(/^[0-9a-f]{64}$/);
      expect(s.outputPath).toBe(outputOf(prefix, s.name));
      expect(s.state).toBe("SUCCESS");
      expect(s.codeFingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(s.host).toBe(hostname());
      expect(Date.parse(s.endedAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
      expect(s.provenance).toBeUndefined();
    }
    expect(upper.versionedConfig).toEqual({ mode: "upper" });
    expect(upper.counters).toEqual({ lines: 3 });
    expect(count.counters).toEqual({ words: 6 });
    expect(download.versionedConfig.sources).toEqual([expect.objectContaining({ kind: "file", path: sourceFile })]);

    const text = await reportCommand(["lineage", target]);
    expect(text).toContain(`lineage of ${target} (out/count.json in ${count.outputPath})`);
    expect(text).toContain(`stats/count @${count.version.slice(0, 8)} [SUCCESS]`);
    expect(text).toMatch(/\n {2}└─ input text ← .*upper\.txt\n {5}lines\/upper @[0-9a-f]{8} \[SUCCESS\]/);
    expect(text).toMatch(/\n {7}└─ input download ← .*\n {10}download\/local @[0-9a-f]{8} \[SUCCESS\]/);
    expect(text).toContain(`notes/notes.txt  ${Buffer.byteLength(TEXT)}  sha256:${download.files![0].sha256}  [notes]`);
    expect(text).toContain("mode = \"upper\"");
    expect(text).toContain("counters:   lines=3");

    // The same lineage by step name: found by scanning the prefix, or through the pipeline's graph.
    const byScan = await lineageJson("stats/count", "--prefix", prefix);
    const byPipeline = await lineageJson("stats/count", "--prefix", prefix, "--pipeline", pipelineFile);
    expect(byScan.root).toEqual(lineage.root);
    expect(byPipeline.root).toEqual(lineage.root);
    expect(byPipeline.target).toBe("stats/count");
  });

  it("says what is wrong when the target holds no step output or names no step", async () => {
    const prefix = path.join(tempDir(), "out");
    await run(prefix, "--only", "^lines/");
    const outside = tempDir();
    await expect(reportCommand(["lineage", outside])).rejects.toMatchObject({ code: "KILN_LINEAGE_NOT_FOUND", message: expect.stringContaining(outside) });
    await expect(reportCommand(["lineage", "stats/count", "--prefix", prefix])).rejects.toMatchObject({ code: "KILN_LINEAGE_NOT_RUN" });
    await expect(reportCommand(["lineage", "stats/nope", "--prefix", prefix, "--pipeline", pipelineFile])).rejects.toMatchObject({
      code: "KILN_LINEAGE_NO_STEP",
      hint: expect.stringContaining("stats/count"),
    });
  });

  it("after a region copy shows where each step came from, whether its recorded inputs point home or into the region", async () => {
    const regionB = path.join(tempDir(), "region-b");
    const home = path.join(tempDir(), "home");
    await run(regionB);
    await run(home, "--region", regionB);
    const target = path.join(outputOf(home, "stats/count"), "out/count.json");

    const check = (lineage: Lineage) => {
      for (const s of chain(lineage)) {
        expect(s.outputPath).toBe(outputOf(home, s.name));
        expect(s.provenance).toMatchObject({ region: regionB, sourcePath: outputOf(regionB, s.name), mode: "copy" });
      }
      expect(chain(lineage)[2].files![0].sha256).toBe(createHash("sha256").update(TEXT).digest("hex"));
    };
    check(await lineageJson(target));

    // Inputs recorded as the other region's paths: the home copies are followed, the recorded path kept.
    for (const name of ["stats/count", "lines/upper"]) rewriteDependencies(outputOf(home, name), home, regionB);
    const viaRegionPaths = await lineageJson(target);
    check(viaRegionPaths);
    expect(viaRegionPaths.root.inputs[0]).toMatchObject({
      path: path.join(outputOf(home, "lines/upper"), "upper.txt"),
      recordedPath: path.join(outputOf(regionB, "lines/upper"), "upper.txt"),
    });

    // Inputs recorded as home paths: followed as they are.
    for (const name of ["stats/count", "lines/upper"]) rewriteDependencies(outputOf(home, name), regionB, home);
    const viaHomePaths = await lineageJson(target);
    check(viaHomePaths);
    expect(viaHomePaths.root.inputs[0].recordedPath).toBeUndefined();

    const text = await reportCommand(["lineage", target]);
    expect(text.match(/provenance: copied from region /g)).toHaveLength(3);
    expect(text).toContain(`provenance: copied from region ${regionB}: ${outputOf(regionB, "download/local")} (1 files`);

    // Region paths recorded and the home copy gone: the region's own output is followed.
    for (const name of ["stats/count", "lines/upper"]) rewriteDependencies(outputOf(home, name), home, regionB);
    const homeDownload = outputOf(home, "download/local");
    rmSync(homeDownload, { recursive: true });
    const fallback = await lineageJson(target);
    const download = only(only(fallback.root.inputs[0]).inputs[0]);
    expect(download.outputPath).toBe(outputOf(regionB, "download/local"));
    expect(download.provenance).toBeUndefined();
  });
});
