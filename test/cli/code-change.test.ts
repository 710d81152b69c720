/**
 * A finished step whose code has changed since it ran: `kiln run`, `kiln status` and `--dry-run` say
 * so, naming the step (the code is not part of the version, so the step is still skipped), and
 * `--force` reruns it, after which nothing is reported any more.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runKiln, tempDir } from "../support/kiln-cli.ts";

function writePipeline(file: string, factor: number): void {
  writeFileSync(
    file,
    [
      `import { pipeline, step } from ${JSON.stringify(path.join(repoRoot, "src/index.ts"))};`,
      `export const scaled = step({ name: "scaled", run: () => ({ value: 21 * ${factor} }) });`,
      `export default pipeline({ name: "code-change", steps: [scaled] });`,
    ].join("\n"),
  );
}

describe("a finished step whose code changed", () => {
  it("is reported by run, status and --dry-run, and --force reruns it", async () => {
    const dir = tempDir("kiln-code-change-");
    const file = path.join(dir, "pipeline.ts");
    const prefix = ["--prefix", path.join(dir, "out")];
    writePipeline(file, 2);
    expect((await runKiln(["run", file, ...prefix])).code).toBe(0);
    const same = await runKiln(["run", file, ...prefix]);
    expect(same.stderr).not.toContain("code changed");

    writePipeline(file, 3);
    const run = await runKiln(["run", file, ...prefix]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: scaled is finished but its code changed since it ran .*--force 'scaled' reruns it/);
    expect(run.stderr).toContain("ran 0, skipped 1");
    const status = await runKiln(["status", file, ...prefix]);
    expect(status.stdout).toMatch(/scaled\s+SUCCESS \(code changed since: --force reruns it\)/);
    const dry = await runKiln(["run", file, ...prefix, "--dry-run"]);
    expect(dry.stdout).toMatch(/scaled\s+skip\s+SUCCESS marker present, but its code changed since it ran/);

    const forced = await runKiln(["run", file, ...prefix, "--force", "scaled"]);
    expect(forced.stderr).toContain("ran 1, skipped 0");
    const after = await runKiln(["status", file, ...prefix]);
    expect(after.stdout).not.toContain("code changed");
  }, 120_000);
});
