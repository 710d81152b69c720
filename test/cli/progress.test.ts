/**
 * Off a terminal, a long step is never silent for more than 10 s: a step that works for 23 s without
 * printing anything gets "still running" lines from the runner, and the run says how many steps are
 * done ([n/N]). The log lines carry their wall-clock second, which the test reads the gaps from.
 * The run keeps the same lines in its log under the prefix.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, runKiln, tempDir } from "../support/kiln-cli.ts";

const STAMP = /^\[kiln (\d\d):(\d\d):(\d\d)\]/;

describe("progress off a terminal", () => {
  it("a step silent for 23 s gets a line at least every 10 s, and finished steps are counted", async () => {
    const dir = tempDir("kiln-progress-");
    const res = await runKiln(["run", fixturePipeline("slow-step.ts"), "--prefix", path.join(dir, "out")]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stderr.split("\n").filter((l) => STAMP.test(l));
    const still = lines.filter((l) => l.includes("slow: still running"));
    expect(still.length, res.stderr).toBeGreaterThanOrEqual(2);
    const seconds = lines.map((l) => {
      const [, h, m, s] = STAMP.exec(l)!;
      return Number(h) * 3600 + Number(m) * 60 + Number(s);
    });
    const from = lines.findIndex((l) => l.includes("run slow"));
    const to = lines.findIndex((l) => l.includes("done slow"));
    expect(to).toBeGreaterThan(from);
    for (let i = from + 1; i <= to; i++) expect(seconds[i] - seconds[i - 1], lines.slice(from, to + 1).join("\n")).toBeLessThanOrEqual(11);
    expect(lines[to]).toMatch(/\[1\/1\] done slow/);
    const logs = readdirSync(path.join(dir, "out", "logs"));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^slow-\d{4}-\d\d-\d\dT.*\.log$/);
    const kept = readFileSync(path.join(dir, "out", "logs", logs[0]), "utf8");
    for (const line of [lines[from], ...still, lines[to]]) expect(kept).toContain(line);
    expect(kept).toContain("ran 1, skipped 0");
  }, 60_000);
});
