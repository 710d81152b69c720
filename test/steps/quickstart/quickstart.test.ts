/**
 * The quickstart pipeline end to end as a child process (`kiln run pipelines/quickstart.ts`), on a
 * subset of the embedded sources and with a few training steps so it stays quick: the first run
 * executes every step (download → normalize → MinHash dedup and quality → consolidate → tokenize →
 * train → eval) and prints the stage, filter and model tables; the second run skips every step and
 * prints the same tables. The numbers are checked against the steps' stored results. DuckDB reads
 * every folder of parquet files the run wrote with one glob each (empty parts included), and counts
 * the rows kiln's reader counts.
 */
import { readFileSync, readdirSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { hashRows } from "../../support/row-hash.ts";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runKiln, tempDir } from "../../support/kiln-cli.ts";

const SOURCES = ["brown-press", "spam-assassin-spam", "js-ts-code"];
const env = { KILN_QUICKSTART_SOURCES: SOURCES.join(","), KILN_QUICKSTART_TRAIN_STEPS: "4", KILN_QUICKSTART_EVAL_TOKENS: "1024" };

/** The table whose header line contains `headerMark`, through the first line starting with `last`. */
function section(stdout: string, headerMark: string, last: string): string[] {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith("source ") && l.includes(headerMark));
  expect(start, stdout).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && l.startsWith(last));
  expect(end, stdout).toBeGreaterThan(start);
  return lines.slice(start, end + 1);
}

function info(prefix: string, group: string, leaf: string) {
  const dir = readdirSync(path.join(prefix, group)).find((d) => d.startsWith(`${leaf}-`))!;
  return JSON.parse(readFileSync(path.join(prefix, group, dir, ".kiln/info.json"), "utf8"));
}

describe("quickstart pipeline", () => {
  it("runs end to end, prints its tables, and a second run skips every step with the same output", async () => {
    const prefix = tempDir("kiln-quickstart-");
    const first = await runKiln(["run", "pipelines/quickstart.ts", "--prefix", prefix], env);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const steps = 1 + 3 * SOURCES.length + 4; // download; per source normalize, consolidate, tokenize; dedup, quality, train, eval
    expect(first.stderr).toContain(`ran ${steps}, skipped 0`);

    const stages = section(first.stdout, "downloaded docs", "total");
    expect(stages).toHaveLength(3 + SOURCES.length);
    for (const row of stages.slice(2, -1)) {
      const [, read, , norm, , dedup, , cons] = row.split(/\s+/).map(Number);
      expect(read).toBeGreaterThan(0);
      expect(read).toBeGreaterThanOrEqual(norm);
      expect(norm).toBeGreaterThanOrEqual(dedup);
      expect(dedup).toBeGreaterThanOrEqual(cons);
      expect(cons).toBeGreaterThan(0);
    }
    const spamNorm = info(prefix, "normalized", "spam-assassin-spam").result;
    const spamRow = stages.find((l) => l.startsWith("spam-assassin-spam "))!.split(/\s+/).map(Number);
    expect(spamRow[5]).toBe(spamNorm.documents);
    expect(spamNorm.duplicates).toBeGreaterThan(0);

    // The filter table matches what consolidate recorded, and near-duplicates of spam were removed.
    const filters = section(first.stdout, "-near-duplicate", "js-ts-code");
    const spamCons = info(prefix, "consolidated", "spam-assassin-spam").result;
    const spamFilterRow = filters.find((l) => l.startsWith("spam-assassin-spam "))!.split(/\s+/).map(Number);
    expect(spamFilterRow[1]).toBe(spamCons.inputDocuments);
    expect(spamFilterRow[2]).toBe(spamCons.removed["near-duplicate"]);
    expect(spamCons.removed["near-duplicate"]).toBeGreaterThan(0);
    expect(spamFilterRow[spamFilterRow.length - 1]).toBe(spamCons.documents);

    // The model table: bits per byte per source from the eval step, and their macro average.
    const evalResult = info(prefix, "eval", "moe-quickstart").result;
    const model = section(first.stdout, "bits per byte", "macro average");
    for (const s of SOURCES) {
      const row = model.find((l) => l.startsWith(s + " "))!;
      expect(Number(row.trim().split(/\s+/).pop())).toBeCloseTo(evalResult.sources[s].bpb, 3);
    }
    expect(first.stdout).toMatch(new RegExp(`macro average\\s+${evalResult.macroBpb.toFixed(4)}`));
    expect(first.stdout).toMatch(/model: 4 steps, \d+ tokens, final loss \d+\.\d+/);

    // Every parquet folder reads in DuckDB with one glob, with the rows kiln reads.
    const folders = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith(".parquet")) folders.add(dir);
      }
    };
    walk(prefix);
    expect(folders.size).toBeGreaterThanOrEqual(5 * SOURCES.length);
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    for (const folder of folders) {
      const [[count]] = (await duck.runAndReadAll(`SELECT count(*) FROM read_parquet('${folder}/*.parquet')`)).getRows();
      expect(Number(count), folder).toBe((await hashRows(folder)).rows);
    }

    const second = await runKiln(["run", "pipelines/quickstart.ts", "--prefix", prefix], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`ran 0, skipped ${steps}`);
    expect(second.stdout).toBe(first.stdout);
  }, 300_000);
});
