import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import {
  expandInputs,
  expandOutputPattern,
  formatOf,
  globToRegExp,
  NoInputMatchError,
  UnknownFormatError,
} from "../../src/io/formats.ts";
import { tempDir } from "./helpers.ts";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("inputs");
  const files: Record<string, string> = {
    "a/part-0.jsonl": "1\n",
    "a/part-1.jsonl": "22\n",
    "a/part-10.jsonl": "333\n",
    "a/deep/x/part-2.jsonl": "4444\n",
    "b/data.parquet": "not really",
    "b/data.jsonl.zst": "zz",
    "c/notes.txt": "x",
  };
  for (const [name, body] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fsp.writeFile(path.join(dir, name), body);
  }
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("formatOf", () => {
  it("names formats by extension and rejects unknown ones naming the file", () => {
    expect(formatOf("x/a.jsonl")).toBe("jsonl");
    expect(formatOf("x/a.json")).toBe("jsonl");
    expect(formatOf("gs://b/a.ndjson")).toBe("jsonl");
    expect(formatOf("a.jsonl.zst")).toBe("jsonl.zst");
    expect(formatOf("a.json.gz")).toBe("jsonl.gz");
    expect(formatOf("a.PARQUET")).toBe("parquet");
    expect(() => formatOf("dir/notes.txt")).toThrow(UnknownFormatError);
    expect(() => formatOf("dir/notes.txt")).toThrow(/dir\/notes\.txt/);
  });
});

describe("globToRegExp", () => {
  it("handles *, **, ? and {a,b}", () => {
    expect(globToRegExp("d/*.jsonl").test("d/x.jsonl")).toBe(true);
    expect(globToRegExp("d/*.jsonl").test("d/e/x.jsonl")).toBe(false);
    expect(globToRegExp("d/**/*.jsonl").test("d/x.jsonl")).toBe(true);
    expect(globToRegExp("d/**/*.jsonl").test("d/e/f/x.jsonl")).toBe(true);
    expect(globToRegExp("d/part-?.jsonl").test("d/part-1.jsonl")).toBe(true);
    expect(globToRegExp("d/part-?.jsonl").test("d/part-10.jsonl")).toBe(false);
    expect(globToRegExp("d/{a,b{c,d}}.x").test("d/bd.x")).toBe(true);
    expect(globToRegExp("d/{a,b}.x").test("d/c.x")).toBe(false);
    expect(globToRegExp("d/a+b.(x)").test("d/a+b.(x)")).toBe(true);
  });
});

describe("expandInputs", () => {
  it("expands globs once, each in path order and the patterns in the order given, with sizes", async () => {
    const splits = await expandInputs(`${dir}/a/**/*.jsonl`);
    expect(splits.map((s) => path.relative(dir, s.path))).toEqual([
      "a/deep/x/part-2.jsonl",
      "a/part-0.jsonl",
      "a/part-1.jsonl",
      "a/part-10.jsonl",
    ]);
    expect(splits.map((s) => [s.size, s.start, s.end])).toEqual([
      [5, 0, 5],
      [2, 0, 2],
      [3, 0, 3],
      [4, 0, 4],
    ]);
    const some = await expandInputs([`${dir}/a/part-?.jsonl`, `${dir}/b/*.{parquet,zst}`, `${dir}/a/part-0.jsonl`]);
    expect(some.map((s) => [path.relative(dir, s.path), s.format])).toEqual([
      ["a/part-0.jsonl", "jsonl"],
      ["a/part-1.jsonl", "jsonl"],
      ["b/data.jsonl.zst", "jsonl.zst"],
      ["b/data.parquet", "parquet"],
    ]);
    // Patterns keep the order given; a file matched again stays where it first came.
    const given = await expandInputs([`${dir}/b/*.{parquet,zst}`, `${dir}/a/part-1.jsonl`, `${dir}/a/part-?.jsonl`]);
    expect(given.map((s) => path.relative(dir, s.path))).toEqual(["b/data.jsonl.zst", "b/data.parquet", "a/part-1.jsonl", "a/part-0.jsonl"]);
  });

  it("follows symbolic links to files and folders, once per real folder, and leaves out links to nothing", async () => {
    const links = path.join(dir, "links");
    await fsp.mkdir(links, { recursive: true });
    await fsp.symlink(path.join(dir, "a/part-1.jsonl"), path.join(links, "one.jsonl"));
    await fsp.symlink(path.join(dir, "a/deep"), path.join(links, "deep"), "dir");
    await fsp.symlink(links, path.join(links, "loop"), "dir");
    await fsp.symlink(path.join(dir, "nowhere.jsonl"), path.join(links, "gone.jsonl"));
    const splits = await expandInputs(`${links}/**/*.jsonl`);
    expect(splits.map((s) => [path.relative(dir, s.path), s.size])).toEqual([
      ["links/deep/x/part-2.jsonl", 5],
      ["links/one.jsonl", 3],
    ]);
    expect(await expandInputs(path.join(links, "one.jsonl"))).toMatchObject([{ size: 3, start: 0, end: 3 }]);
  });

  it("fails naming a pattern that matches nothing", async () => {
    await expect(expandInputs([`${dir}/a/*.jsonl`, `${dir}/zzz/*.jsonl`])).rejects.toThrow(NoInputMatchError);
    await expect(expandInputs(`${dir}/zzz/*.jsonl`)).rejects.toThrow(`${dir}/zzz/*.jsonl`);
    await expect(expandInputs(`${dir}/missing.jsonl`)).rejects.toThrow(/missing\.jsonl/);
  });

  it("cuts large plain jsonl files into contiguous byte ranges, never compressed ones", async () => {
    const big = path.join(dir, "big.jsonl");
    await fsp.writeFile(big, "x".repeat(1000));
    const splits = await expandInputs([big, `${dir}/b/*.zst`], { splitBytes: 300 });
    const ranges = splits.filter((s) => s.path === big).map((s) => [s.start, s.end]);
    expect(ranges.length).toBe(4);
    expect(ranges[0][0]).toBe(0);
    expect(ranges[ranges.length - 1][1]).toBe(1000);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1]);
    expect(splits.filter((s) => s.format === "jsonl.zst").map((s) => [s.start, s.end])).toEqual([[0, 2]]);
  });
});

describe("expandOutputPattern", () => {
  it("fills {shard} and {total} zero-padded", () => {
    expect(expandOutputPattern("out/part-{shard}-of-{total}.parquet", 3, 12)).toBe("out/part-00003-of-00012.parquet");
    expect(() => expandOutputPattern("p-{shard}", 5, 5)).toThrow(/shard 5 of 5/);
  });
});
