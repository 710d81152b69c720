/**
 * Staging areas and commits at the file level: which leftovers a new attempt removes (dead pids on
 * this host, other hosts, an interrupted resume folder) and which it keeps (live processes), the
 * sweep of scratch folders in a temp folder, and commits that meet a lost lease, a colliding entry,
 * a reserved name, or (on gs://) a fence that fails half-way.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileSystemFor, localFileSystem } from "../../src/io/index.ts";
import { commitStaged, type Fence } from "../../src/executor/commit.ts";
import { LeaseLostError } from "../../src/executor/lease.ts";
import { attemptLayout, COMMIT_MARKER, RESUME_FOLDER, prepareAttempt, removeDeadWorkDirs } from "../../src/executor/staging.ts";
import { useFakeGcs } from "../support/fake-gcs-suite.ts";
import { tempDir } from "../support/kiln-cli.ts";

useFakeGcs();

const host = hostname().replace(/[^A-Za-z0-9.-]/g, "_");
let livePid = 0;
let deadPid = 0;
let sleeper: ReturnType<typeof spawn>;
beforeAll(() => {
  sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
  livePid = sleeper.pid!;
  deadPid = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
});
afterAll(() => void sleeper.kill("SIGKILL"));

const attempt = (pid: number, tag = "0badc0de", on = host) => `a-${on}-${pid}-${tag}`;

/** A fence that runs `onCheck(n)` on its n-th check (1-based). */
function fence(onCheck: (n: number) => void = () => undefined): Fence & { checks: number } {
  const f = {
    checks: 0,
    verify: async () => {
      f.checks++;
      onCheck(f.checks);
    },
  };
  return f;
}

describe("staging areas", () => {
  it("a new attempt removes dead attempts' folders and keeps those of live processes on this host", async () => {
    const prefix = tempDir();
    const layout = attemptLayout(prefix, "step-0123abcd", true);
    const keepers = [attempt(livePid), `${attempt(livePid)}.work`, RESUME_FOLDER];
    const doomed = [attempt(deadPid), `${attempt(deadPid)}.work`, attempt(livePid, "0badc0de", "another-host"), "not-an-attempt"];
    for (const name of [...keepers, ...doomed]) mkdirSync(path.join(layout.area, name, "sub"), { recursive: true });
    const removed = await prepareAttempt(localFileSystem, layout, false);
    expect(removed.filter((r) => r.startsWith(layout.area)).sort()).toEqual(doomed.map((d) => path.join(layout.area, d)).sort());
    expect(readdirSync(layout.area).sort()).toEqual([...keepers, path.basename(layout.workDir)].sort());
    expect(existsSync(layout.workDir)).toBe(true);
    expect(layout.staging).toBe(path.join(layout.area, RESUME_FOLDER));
  });

  it("drops the resume folder when its commit was interrupted or the rerun is forced", async () => {
    const prefix = tempDir();
    for (const [marker, forced, kept] of [[false, false, true], [true, false, false], [false, true, false]] as const) {
      const layout = attemptLayout(prefix, "step-resume", true);
      await localFileSystem.writeAtomic(path.join(layout.staging, "checkpoint.pt"), "x");
      if (marker) await localFileSystem.writeAtomic(path.join(layout.staging, COMMIT_MARKER), "a-killed");
      await prepareAttempt(localFileSystem, layout, forced);
      expect(existsSync(path.join(layout.staging, "checkpoint.pt"))).toBe(kept);
      await localFileSystem.deleteTree(layout.area);
    }
  });

  it("sweeps scratch folders of dead processes on this host from a temp folder, and only those", async () => {
    const root = tempDir();
    const dead = `kiln-step-${attempt(deadPid)}`;
    const keep = [`kiln-step-${attempt(livePid)}`, `kiln-step-${attempt(process.pid)}`, `kiln-step-${attempt(deadPid, "0badc0de", "another-host")}`, "kiln-step-x", "other"];
    for (const name of [dead, ...keep]) mkdirSync(path.join(root, name, "spill"), { recursive: true });
    expect(await removeDeadWorkDirs(root)).toEqual([path.join(root, dead)]);
    expect(readdirSync(root).sort()).toEqual(keep.sort());
  });
});

describe("commits", () => {
  async function staged(files: Record<string, string>) {
    const dir = tempDir();
    const staging = path.join(dir, "stage");
    const out = path.join(dir, "out");
    for (const [rel, text] of Object.entries(files)) await localFileSystem.writeAtomic(path.join(staging, rel), text);
    await localFileSystem.writeAtomic(path.join(out, ".kiln/status"), "RUNNING\n");
    await localFileSystem.writeAtomic(path.join(out, "old-output.txt"), "from an earlier attempt");
    return { staging, out };
  }

  it("clears the output but its markers and moves whole entries in", async () => {
    const { staging, out } = await staged({ "a.txt": "a", "data/part-0.txt": "p0", "data/part-1.txt": "p1" });
    await localFileSystem.writeAtomic(path.join(staging, "b.txt.kiln-tmp-1-abc"), "left by a writer");
    const f = fence();
    await commitStaged({ fs: localFileSystem, step: "s", staging, out, fence: f });
    expect(readdirSync(out).sort()).toEqual([".kiln", "a.txt", "data"]);
    expect(readFileSync(path.join(out, "data/part-1.txt"), "utf8")).toBe("p1");
    expect(readdirSync(staging)).toEqual([]);
    expect(f.checks).toBeGreaterThanOrEqual(1);
  });

  it("stops at a lost lease before the output is touched, or at the next move", async () => {
    const early = await staged({ "a.txt": "a" });
    const lost = new LeaseLostError("lease", null);
    await expect(commitStaged({ fs: localFileSystem, step: "s", ...early, fence: fence(() => { throw lost; }) })).rejects.toBe(lost);
    expect(readdirSync(early.out).sort()).toEqual([".kiln", "old-output.txt"]);

    const late = await staged({ "a.txt": "a", "b.txt": "b", "c.txt": "c" });
    const f = fence((n) => {
      if (n === 3) throw lost;
    });
    await expect(commitStaged({ fs: localFileSystem, step: "s", ...late, fence: f, recheckMs: 0 })).rejects.toBe(lost);
    expect(readdirSync(late.out).filter((n) => n !== ".kiln")).toHaveLength(1);
  });

  it("never replaces an entry another process put into the output during the commit", async () => {
    const { staging, out } = await staged({ "a.txt": "mine", "b.txt": "mine", "c.txt": "mine" });
    const f = fence((n) => {
      // After the clear, someone else commits the same names.
      if (n === 2) for (const name of ["a.txt", "b.txt", "c.txt"]) writeFileSync(path.join(out, name), "theirs");
    });
    await expect(commitStaged({ fs: localFileSystem, step: "s", staging, out, fence: f, recheckMs: 0 })).rejects.toMatchObject({ code: "KILN_COMMIT_COLLISION" });
    for (const name of ["a.txt", "b.txt", "c.txt"]) expect(readFileSync(path.join(out, name), "utf8")).toBe("theirs");
  });

  it("refuses a staged top-level .kiln folder", async () => {
    const { staging, out } = await staged({ ".kiln/status": "SUCCESS" });
    await expect(commitStaged({ fs: localFileSystem, step: "mine", staging, out, fence: fence() })).rejects.toMatchObject({
      code: "KILN_RESERVED_OUTPUT",
      message: expect.stringContaining("step 'mine' wrote '.kiln'"),
    });
    expect(readFileSync(path.join(out, ".kiln/status"), "utf8")).toBe("RUNNING\n");
  });

  it("on gs:// copies then deletes each object, checking the fence before each, and stops when it fails", async () => {
    const base = `gs://commit-bucket/c-${Math.random().toString(36).slice(2)}`;
    const fs = fileSystemFor(base);
    const staging = `${base}/.kiln-staging/s/a-x-1-00000000`;
    const out = `${base}/s`;
    for (let i = 0; i < 6; i++) await fs.writeAtomic(`${staging}/part-${i}.txt`, `p${i}`);
    await fs.writeAtomic(`${out}/.kiln/status`, "RUNNING\n");
    await fs.writeAtomic(`${out}/stale.txt`, "old");
    const lost = new LeaseLostError("lease", null);
    const f = fence((n) => {
      if (n === 4) throw lost;
    });
    await expect(commitStaged({ fs, step: "s", staging, out, fence: f, concurrency: 1 })).rejects.toBe(lost);
    const moved = (await fs.list(out)).map((x) => x.path.slice(out.length + 1));
    expect(moved).toEqual([".kiln/status", "part-0.txt", "part-1.txt"]);
    expect((await fs.list(staging)).length).toBe(4);

    // A fresh attempt's commit replaces all of it.
    const fresh = `${base}/.kiln-staging/s/a-x-2-00000000`;
    for (let i = 0; i < 3; i++) await fs.writeAtomic(`${fresh}/data/part-${i}.txt`, `q${i}`);
    const done = fence();
    await commitStaged({ fs, step: "s", staging: fresh, out, fence: done });
    expect((await fs.list(out)).map((x) => x.path.slice(out.length + 1))).toEqual([".kiln/status", "data/part-0.txt", "data/part-1.txt", "data/part-2.txt"]);
    expect((await fs.read(`${out}/data/part-2.txt`)).toString()).toBe("q2");
    expect(await fs.list(fresh)).toEqual([]);
    expect(done.checks).toBe(4);
  });
});
