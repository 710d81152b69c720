import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, runKiln, tempDir } from "../support/kiln-cli.ts";

const pipelineFile = fixturePipeline("counting.ts");

describe("kiln commands and their errors", () => {
  it("status prints a table of step, state, output path and duration", async () => {
    const dir = tempDir();
    const prefix = path.join(dir, "out");
    const env = { KILN_TEST_CALLS: path.join(dir, "calls"), KILN_TEST_SALT: "status" };
    const before = await runKiln(["status", pipelineFile, "--prefix", prefix], env);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/^step\s+state\s+output\s+duration$/m);
    expect(before.stdout).toMatch(/^a\s+not started\s+\S+\/out\/a-[0-9a-f]{8}/m);
    await runKiln(["run", pipelineFile, "--prefix", prefix, "--only", "^a$"], env);
    const after = await runKiln(["status", pipelineFile, "--prefix", prefix], env);
    expect(after.stdout).toMatch(/^a\s+SUCCESS\s+\S+\/out\/a-[0-9a-f]{8}\s+\d+\.\d s$/m);
    expect(after.stdout).toMatch(/^c\s+not started/m);
  });

  it("graph prints the DAG as Mermaid", async () => {
    const res = await runKiln(["graph", pipelineFile]);
    expect(res.code).toBe(0);
    expect(res.stdout.split("\n")[0]).toBe("flowchart TD");
    expect(res.stdout).toMatch(/s0\["a<br\/>[0-9a-f]{8}"\]/);
    expect(res.stdout).toContain("s0 -->|a| s1");
  });

  it("a module that fails to import is a clear error with a non-zero exit", async () => {
    const res = await runKiln(["run", fixturePipeline("broken-import.ts"), "--prefix", tempDir()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/failed to import pipeline module .*broken-import\.ts: .*kiln-no-such-package-anywhere/);
    expect(res.stderr).toContain("hint:");
  });

  it("a missing module file and a module without steps are clear errors", async () => {
    const missing = await runKiln(["run", "no/such/pipeline.ts"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/pipeline module not found: .*no\/such\/pipeline\.ts/);
    const empty = await runKiln(["graph", fixturePipeline("no-steps.ts")]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("exports no steps and no pipeline");
  });

  it("an --only pattern that matches no step fails and lists the step names", async () => {
    const res = await runKiln(["run", pipelineFile, "--prefix", tempDir(), "--only", "tokenize"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--only tokenize matches no step");
    expect(res.stderr).toMatch(/step names in this pipeline: .*\ba\b.*\bd\b/);
  });

  it("warns about one --only pattern of several that matches nothing", async () => {
    const dir = tempDir();
    const res = await runKiln(["run", pipelineFile, "--prefix", path.join(dir, "o"), "--only", "^a$", "--only", "nothing-here", "--dry-run"], {
      KILN_TEST_CALLS: path.join(dir, "calls"),
    });
    expect(res.code).toBe(0);
    expect(res.stderr).toContain("warning: --only nothing-here matches no step");
    expect(res.stdout).toMatch(/^a\s+run\s+no SUCCESS marker/m);
  });

  it("--force naming no step is an error", async () => {
    const res = await runKiln(["run", pipelineFile, "--prefix", tempDir(), "--force", "zzz"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--force zzz names no step");
  });
});
