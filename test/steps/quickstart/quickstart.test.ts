/**
 * The quickstart pipeline end to end as a child process (`kiln run pipelines/quickstart.ts`): the
 * first run executes every step and prints the per-source stage table; the second run skips every
 * step and prints the same table. The table's numbers are checked against the steps' stored
 * results and for consistency between stages.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runKiln, tempDir } from "../../support/kiln-cli.ts";
import { BUILTIN_SOURCES } from "../../../src/steps/sources/index.ts";

function table(stdout: string): string[] {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith("source "));
  expect(start, stdout).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("total"));
  return lines.slice(start, end + 1);
}

describe("quickstart pipeline", () => {
  it("runs end to end, prints the stage table, and a second run skips every step with the same table", async () => {
    const prefix = tempDir("kiln-quickstart-");
    const first = await runKiln(["run", "pipelines/quickstart.ts", "--prefix", prefix]);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const steps = 1 + 2 * BUILTIN_SOURCES.length;
    expect(first.stdout + first.stderr).toContain(`ran ${steps}, skipped 0`);
    const t1 = table(first.stdout);
    expect(t1).toHaveLength(3 + BUILTIN_SOURCES.length);
    for (const s of BUILTIN_SOURCES) expect(t1.some((l) => l.startsWith(s.name + " "))).toBe(true);
    for (const row of t1.slice(2)) {
      const [, read, , norm, , dedup, , cons] = row.split(/\s+/).map(Number);
      expect(read).toBeGreaterThan(0);
      expect(read).toBeGreaterThanOrEqual(norm);
      expect(norm).toBeGreaterThanOrEqual(dedup);
      expect(dedup).toBeGreaterThanOrEqual(cons);
      expect(cons).toBeGreaterThan(0);
    }
    // The normalized documents of one source, as stored, match its row.
    const normDir = readdirSync(path.join(prefix, "normalized")).find((d) => d.startsWith("spam-assassin-spam-"))!;
    const info = JSON.parse(readFileSync(path.join(prefix, "normalized", normDir, ".kiln/info.json"), "utf8"));
    const row = t1.find((l) => l.startsWith("spam-assassin-spam "))!.split(/\s+/).map(Number);
    expect(row[5]).toBe(info.result.documents);
    expect(row[3] - row[5]).toBe(info.result.duplicates);
    expect(info.result.duplicates).toBeGreaterThan(0);

    const second = await runKiln(["run", "pipelines/quickstart.ts", "--prefix", prefix]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout + second.stderr).toContain(`ran 0, skipped ${steps}`);
    expect(table(second.stdout)).toEqual(t1);
  }, 180_000);
});
