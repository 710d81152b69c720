/**
 * What `kiln run` prints when a step throws (its error, the first frames of its stack, the
 * info.json that holds the whole error), and the pipeline's report hook: it runs after a failed
 * run too, with what finished, while the command still exits non-zero.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, runKiln, tempDir } from "../support/kiln-cli.ts";

const pipelineFile = fixturePipeline("failing-step.ts");
const source = readFileSync(pipelineFile, "utf8").split("\n");
const lineOf = (text: string) => source.findIndex((l) => l.includes(text)) + 1;

function frameLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim().startsWith("at "));
}

function readReport(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8"));
}

describe("a step that throws", () => {
  it("prints its error, the first frames of its stack and the info.json holding all of it", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    const res = await runKiln(["run", pipelineFile, "--prefix", prefix], { KILN_TEST_REPORT: path.join(dir, "report.json") });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("step 'check' failed: row 3 is above the limit 2");
    const frames = frameLines(res.stderr);
    expect(frames[0]).toMatch(new RegExp(`at checkRow \\(${pipelineFile}:${lineOf("throw new Error(`row")}:\\d+\\)`));
    expect(frames.some((f) => f.includes(`at checkAll (${pipelineFile}:${lineOf("rows.map(checkRow)")}:`))).toBe(true);
    expect(frames.length).toBeLessThanOrEqual(5);
    // The executor's own frames are left out; they say nothing about the step.
    expect(frames.some((f) => f.includes("/src/executor/"))).toBe(false);

    const info = res.stderr.match(/full error and stack: (\S+)/)?.[1];
    expect(info).toMatch(new RegExp(`^${prefix}/check-[0-9a-f]{8}/\\.kiln/info\\.json$`));
    expect(existsSync(info!)).toBe(true);
    const stored = JSON.parse(readFileSync(info!, "utf8")).error;
    expect(stored.message).toBe("row 3 is above the limit 2");
    expect(stored.stack).toContain("at checkRow");
    expect(res.stderr).toMatch(/not run because a dependency failed: total/);
  });

  it("on the next run, still failed from before, shows the frames info.json kept", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    await runKiln(["run", pipelineFile, "--prefix", prefix]);
    const again = await runKiln(["run", pipelineFile, "--prefix", prefix]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/step 'check' failed: failed in an earlier run: row 3 is above the limit 2/);
    expect(frameLines(again.stderr)[0]).toContain(`at checkRow (${pipelineFile}:${lineOf("throw new Error(`row")}:`);
    expect(again.stderr).toContain("hint: fix the cause and rerun with --force-failed");
  });
});

describe("the report hook", () => {
  it("runs after a failed run with what finished, and the command still exits non-zero", async () => {
    const dir = tempDir();
    const report = path.join(dir, "report.json");
    const res = await runKiln(["run", pipelineFile, "--prefix", path.join(dir, "out")], { KILN_TEST_REPORT: report });
    expect(res.code).toBe(1);
    expect(readReport(report)).toEqual({
      ok: false,
      names: ["source", "check", "total"],
      sourceRows: [1, 2, 3],
      total: null,
      checkState: "failed",
      checkError: "Error: row 3 is above the limit 2",
      totalState: "dep-failed",
      sourceViaArray: { rows: [1, 2, 3] },
    });
  });

  it("gets every result after a successful run, and the same results when every step is skipped", async () => {
    const dir = tempDir();
    const report = path.join(dir, "report.json");
    const env = { KILN_TEST_REPORT: report, KILN_TEST_ROW_LIMIT: "10" };
    const args = ["run", pipelineFile, "--prefix", path.join(dir, "out")];
    const first = await runKiln(args, env);
    expect(first.code, first.stderr).toBe(0);
    const seen = readReport(report);
    expect(seen).toMatchObject({ ok: true, total: 6, sourceRows: [1, 2, 3], checkState: "ran", totalState: "ran", checkError: null });
    const second = await runKiln(args, env);
    expect(second.code, second.stderr).toBe(0);
    expect(readReport(report)).toEqual({ ...seen, checkState: "skipped", totalState: "skipped" });
  });

  it("that throws is reported with its frames and makes the command exit non-zero", async () => {
    const dir = tempDir();
    const res = await runKiln(["run", pipelineFile, "--prefix", path.join(dir, "out")], { KILN_TEST_ROW_LIMIT: "10", KILN_TEST_REPORT_THROWS: "1" });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("ran 3, skipped 0");
    expect(res.stderr).toContain("report of pipeline failing-step failed: the report could not be written");
    expect(frameLines(res.stderr)[0]).toContain(`at failReport (${pipelineFile}:${lineOf("throw new Error(\"the report")}:`);
  });
});
