/**
 * SIGKILLed step attempts, end to end with real `kiln run` child processes: killed while `run(ctx)`
 * works, killed half-way through a commit, a resumable step killed mid-run, and a gs:// prefix
 * (fake GCS server) whose scratch folder lives in the OS temp folder. Each time the rerun succeeds
 * with only its own files, and no staging or scratch folder of either attempt is left anywhere.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fileSystemFor } from "../../src/io/index.ts";
import { useFakeGcs } from "../support/fake-gcs-suite.ts";
import { filesBelow, waitFor } from "../support/kiln-cli.ts";
import { fencingRuns } from "./fixtures/fencing-run.ts";

const gcs = useFakeGcs();
async function killAt(child: { kill(sig: NodeJS.Signals): boolean }, done: Promise<{ signal: NodeJS.Signals | null }>): Promise<void> {
  child.kill("SIGKILL");
  expect((await done).signal).toBe("SIGKILL");
}

describe("SIGKILLed attempts (child processes)", () => {
  it("killed during run(ctx): nothing reached the output; the rerun succeeds and sweeps the dead attempt's folders", async () => {
    const t = fencingRuns();
    const a = t.start("A", { KILN_TEST_SLEEP_MS: "60000" });
    await waitFor("A to sleep", () => t.has("A", "sleeping"));
    const [aStaging, aWork] = t.detail("A", "staged");
    expect(existsSync(path.join(aStaging, "first-A.txt"))).toBe(true);
    expect(existsSync(path.join(aWork, "scratch.bin"))).toBe(true);
    expect(aStaging.startsWith(path.join(t.home, ".kiln-staging") + "/")).toBe(true);
    await killAt(a.child, a.done);
    const out = t.outputDir();
    expect(filesBelow(out)).toEqual([".kiln/lease", ".kiln/status"]);

    const b = await t.start("B").done;
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/take over work: stale lease \(holder pid \d+ on this host is dead\), epoch 2/);
    expect(b.stderr).toMatch(/clean work: removed 2 folder\(s\) left by dead attempts/);
    expect(filesBelow(out)).toEqual([".kiln/info.json", ".kiln/status", "checkpoint.txt", "data/second-B.txt", "first-B.txt"]);
    const [bStaging, bWork] = t.detail("B", "staged");
    for (const gone of [aStaging, aWork, bStaging, bWork, path.join(t.home, ".kiln-staging")]) expect(existsSync(gone), gone).toBe(false);
  });

  it("killed half-way through its commit: the rerun clears the half-moved output and commits its own files", async () => {
    const t = fencingRuns();
    const files = 1000;
    const a = t.start("A", { KILN_TEST_FILES: String(files) });
    await waitFor("A's output folder", () => existsSync(t.home) && readdirSync(t.home).some((d) => d.startsWith("work-")));
    const out = t.outputDir();
    await waitFor("A's commit to start", () => readdirSync(out).some((n) => n.startsWith("f-")), { timeoutMs: 60_000, everyMs: 1 });
    a.child.kill("SIGSTOP");
    const moved = readdirSync(out).filter((n) => n.startsWith("f-")).length;
    expect(readFileSync(path.join(out, ".kiln/status"), "utf8").trim()).toBe("RUNNING");
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(files);
    await killAt(a.child, a.done);

    const b = await t.start("B", { KILN_TEST_FILES: String(files) }).done;
    expect(b.code, b.stderr).toBe(0);
    const names = readdirSync(out).sort();
    expect(names.filter((n) => n.startsWith("f-"))).toHaveLength(files);
    expect(names.filter((n) => !n.startsWith("f-"))).toEqual([".kiln", "checkpoint.txt", "data", "first-B.txt"]);
    expect(new Set(names.filter((n) => n.startsWith("f-")).map((n) => readFileSync(path.join(out, n), "utf8")))).toEqual(new Set(["B\n"]));
    expect(existsSync(path.join(t.home, ".kiln-staging"))).toBe(false);
  });

  it("a resumable step killed during run(ctx) resumes from its staging folder, and commits it", async () => {
    const t = fencingRuns({ env: { KILN_TEST_RESUMABLE: "1" } });
    const a = t.start("A", { KILN_TEST_SLEEP_MS: "60000" });
    await waitFor("A to sleep", () => t.has("A", "sleeping"));
    const [aStaging, aWork] = t.detail("A", "staged");
    expect(path.basename(aStaging)).toBe("resume");
    await killAt(a.child, a.done);

    const b = await t.start("B").done;
    expect(b.code, b.stderr).toBe(0);
    const out = t.outputDir();
    expect(JSON.parse(readFileSync(path.join(out, ".kiln/info.json"), "utf8")).result).toEqual({ run: "B", resumedFrom: "checkpoint of A" });
    // The resume folder carried A's files over; B's commit moved all of it.
    expect(filesBelow(out)).toEqual([".kiln/info.json", ".kiln/status", "checkpoint.txt", "data/second-B.txt", "first-A.txt", "first-B.txt"]);
    for (const gone of [aStaging, aWork, path.join(t.home, ".kiln-staging")]) expect(existsSync(gone), gone).toBe(false);
  });

  it("on a gs:// prefix the scratch folder is in the OS temp folder; a killed attempt's is swept by the rerun", async () => {
    const prefix = `gs://crash-bucket/run-${Math.random().toString(36).slice(2)}`;
    const t = fencingRuns({ prefix, env: { KILN_GCS_ENDPOINT: gcs.server.endpoint } });
    const a = t.start("A", { KILN_TEST_SLEEP_MS: "60000" });
    await waitFor("A to sleep", () => t.has("A", "sleeping"));
    const [aStaging, aWork] = t.detail("A", "staged");
    expect(aStaging.startsWith(`${prefix}/.kiln-staging/work-`)).toBe(true);
    expect(path.dirname(aWork)).toBe(tmpdir());
    expect(path.basename(aWork)).toMatch(/^kiln-step-a-.+-\d+-[0-9a-f]{8}$/);
    expect(existsSync(path.join(aWork, "scratch.bin"))).toBe(true);
    await killAt(a.child, a.done);

    const b = await t.start("B").done;
    expect(b.code, b.stderr).toBe(0);
    const [, bWork] = t.detail("B", "staged");
    expect(existsSync(aWork)).toBe(false);
    expect(existsSync(bWork)).toBe(false);
    const fs = fileSystemFor(prefix);
    // Everything but the run report and the run log, which `kiln run` writes under the prefix too.
    const listed = (await fs.list(prefix)).map((f) => f.path.slice(prefix.length + 1)).filter((p) => !p.startsWith("reports/") && !p.startsWith("logs/"));
    const out = listed[0].split("/")[0];
    expect(listed.some((p) => p.startsWith(".kiln-staging/"))).toBe(false);
    expect(listed).toEqual([".kiln/info.json", ".kiln/status", "checkpoint.txt", "data/second-B.txt", "first-B.txt"].map((f) => `${out}/${f}`));
    const info = JSON.parse((await fs.read(`${prefix}/${out}/.kiln/info.json`)).toString());
    expect(info.outputPath).toBe(`${prefix}/${out}`);
  });
});
