/**
 * Failure handling on real worker threads and on the inline executor: a shard that fails twice
 * and then succeeds leaves complete output without duplicates; a shard that always fails fails
 * the execution after exactly 3 attempts with the last attempt's error; a user function error
 * names the operator, the shard, the input file and the line or row; progress is logged off a TTY
 * and drawn as bars on one; corrupt exchange files and ambiguous write patterns fail clearly.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PassThrough } from "node:stream";
import { Dataset, DatasetPlanError, executeDataset, fn, TaskError, UserFunctionError } from "../../src/index.ts";
import { createPoolRunner, MAX_ATTEMPTS } from "../../src/internal.ts";
import { createProgress } from "../../src/dataset/exec/progress.ts";
import { ExchangeWriter, readExchangeFiles } from "../../src/dataset/exec/exchange-files.ts";
import { double, failOn, flaky } from "./fixtures/user-fns.ts";
import type { Num } from "./fixtures/user-fns.ts";
import { FIXTURES as U, makeRows, multiset, readAll, tempDir, writeFile } from "./helpers.ts";

const tmp = tempDir();
const rows = makeRows(0, 60);
const quiet = () => {};
const workers = createPoolRunner({ threads: 2 });
const pool = { runner: workers, progress: false, log: quiet } as const;

beforeAll(async () => {
  await writeFile(path.join(tmp.dir, "in/part-0.jsonl.zst"), rows.slice(0, 20), "jsonl.zst");
  await writeFile(path.join(tmp.dir, "in/part-1.jsonl.zst"), rows.slice(20, 40), "jsonl.zst");
  await writeFile(path.join(tmp.dir, "in/part-2.jsonl.zst"), rows.slice(40), "jsonl.zst");
  await writeFile(path.join(tmp.dir, "pq/rows.parquet"), rows, "parquet");
});
afterAll(async () => {
  await workers.close();
  tmp.cleanup();
});

describe("retries", () => {
  test("a shard failing twice then succeeding: execution succeeds, output has no duplicates", async () => {
    const attempts = path.join(tmp.dir, "attempts-flaky");
    const out = path.join(tmp.dir, "out-flaky");
    const ds = Dataset.read<Num>(path.join(tmp.dir, "in/*.jsonl.zst"))
      .map(fn(U, flaky, { dir: attempts, shard: 1, failures: 2 }))
      .reshard(2)
      .map(fn(U, double))
      .write(path.join(out, "part-{shard}-of-{total}.jsonl"));
    const logs: string[] = [];
    const result = await executeDataset(ds, { ...pool, log: (l) => logs.push(l) });
    expect(readdirSync(attempts).sort()).toEqual(["attempt-1", "attempt-2", "attempt-3"]);
    expect(result.counters.stages[0].retries).toBe(2);
    expect(logs.filter((l) => /attempt \d of 3 failed/.test(l))).toHaveLength(2);
    const written = await readAll(result.outputs);
    expect(multiset(written)).toEqual(multiset(rows.map((r) => ({ ...r, doubled: r.n * 2 }))));
    // Only committed files remain: no attempt temporaries.
    expect(readdirSync(out).sort()).toEqual(["part-00000-of-00002.jsonl", "part-00001-of-00002.jsonl"]);
  });

  test("a shard that always fails fails the execution after exactly 3 attempts with the last error", async () => {
    const attempts = path.join(tmp.dir, "attempts-always");
    const ds = Dataset.read<Num>(path.join(tmp.dir, "in/*.jsonl.zst")).map(fn(U, flaky, { dir: attempts, shard: 2, failures: 99 }));
    const run = executeDataset(ds.write(path.join(tmp.dir, "out-always/p-{shard}.jsonl")), pool);
    await expect(run).rejects.toThrow(/flaky failure 3\b/);
    await expect(run).rejects.toBeInstanceOf(UserFunctionError);
    expect(readdirSync(attempts)).toHaveLength(MAX_ATTEMPTS);
  });
});

describe("user function errors", () => {
  for (const executor of ["inline", "pool"] as const) {
    test(`${executor}: names operator, shard, file and line`, async () => {
      const ds = Dataset.read<Num>(path.join(tmp.dir, "in/*.jsonl.zst")).map(fn(U, double)).map(fn(U, failOn, { n: 27 }));
      const err = await executeDataset(ds, executor === "pool" ? pool : { executor, progress: false, log: quiet }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserFunctionError);
      const e = err as UserFunctionError;
      // n=27 is the 8th line of part-1 (rows 20..39), which is shard 1 of 3.
      expect(e.operator).toBe("map #3 (failOn)");
      expect(e.shard).toBe(1);
      expect(e.position).toEqual({ source: path.join(tmp.dir, "in/part-1.jsonl.zst"), record: 8, unit: "line" });
      expect(e.message).toContain(`map #3 (failOn) threw on shard 1 of 3 at ${path.join(tmp.dir, "in/part-1.jsonl.zst")} line 8`);
      expect(e.message).toContain("cannot handle n=27");
      expect((e.cause as Error).message).toBe("cannot handle n=27");
    });
  }

  test("parquet input: the position is a 1-based row", async () => {
    const ds = Dataset.read<Num>(path.join(tmp.dir, "pq/*.parquet")).map(fn(U, failOn, { n: 55 }));
    const err = await executeDataset(ds, { executor: "inline", progress: false, log: quiet }).catch((e: unknown) => e);
    expect((err as UserFunctionError).position).toEqual({ source: path.join(tmp.dir, "pq/rows.parquet"), record: 56, unit: "row" });
  });

  test("closures on the inline executor report positions in inline items", async () => {
    const ds = Dataset.fromItems(rows, { shards: 2 }).filter((r) => {
      if (r.n === 45) throw new TypeError("bad row");
      return true;
    });
    const err = await executeDataset(ds, { executor: "inline", progress: false, log: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserFunctionError);
    expect((err as UserFunctionError).message).toMatch(/^filter #2 \(closure\) threw on shard 1 of 2 at inline items of shard 1 row 46/);
  });
});

describe("progress", () => {
  test("off a TTY, each stage logs a line when it ends", async () => {
    const lines: string[] = [];
    const ds = Dataset.fromItems(rows, { shards: 3 }).reshard(2).count();
    const { value } = await executeDataset(ds, { executor: "inline", progress: "log", log: (l) => lines.push(l) });
    expect(value).toBe(rows.length);
    expect(lines).toEqual([
      expect.stringMatching(/^stage 0: 3\/3 shards, 60 records, \d+ rec\/s, [\d.]+ MB\/s, \d+ s \(done\)$/),
      expect.stringMatching(/^stage 1: 2\/2 shards, 60 records, .* \(done\)$/),
    ]);
  });
});

test("on a TTY, a live bar per stage shows shards done/total and rates", () => {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  let text = "";
  stream.on("data", (d: Buffer) => (text += d.toString()));
  const progress = createProgress({ mode: "auto", stream: stream as unknown as NodeJS.WriteStream });
  progress.stageStarted(0, 4);
  for (let i = 0; i < 4; i++) progress.taskFinished(0, { recordsIn: 1000, recordsOut: 1000, bytesIn: 2e6, bytesOut: 0, user: {} });
  progress.stageFinished(0);
  progress.close();
  expect(text).toMatch(/stage 0 \|.*\| 4\/4 shards \| \d+ rec\/s \| [\d.]+ MB\/s \| ETA/);
});

describe("bad files and patterns", () => {
  test("a truncated exchange file fails naming the file and byte offset, never yielding fewer rows silently", async () => {
    const writer = new ExchangeWriter(path.join(tmp.dir, "xchg"), 0, 1, "single", "t-a1");
    await writer.add(rows);
    const [file] = await writer.commit();
    const cursor = { source: "", first: 1, index: 0, unit: "row" as const, known: false };
    const whole: unknown[] = [];
    for await (const b of readExchangeFiles([file], cursor, () => {})) whole.push(...b);
    expect(whole).toEqual(rows);
    const data = readFileSync(file);
    writeFileSync(file, data.subarray(0, data.length - 5));
    const read = async () => {
      for await (const _ of readExchangeFiles([file], cursor, () => {})) void _;
    };
    await expect(read()).rejects.toBeInstanceOf(TaskError);
    await expect(read()).rejects.toThrow(`exchange file ${file} is corrupt at byte 0`);
  });

  test("a write pattern without {shard} over several shards is refused", async () => {
    const ds = Dataset.fromItems(rows, { shards: 2 }).write(path.join(tmp.dir, "one-file.jsonl"));
    await expect(executeDataset(ds, { executor: "inline", progress: false })).rejects.toBeInstanceOf(DatasetPlanError);
    await expect(executeDataset(ds, { executor: "inline", progress: false })).rejects.toThrow(/same file to several of the 2 shards/);
  });
});
