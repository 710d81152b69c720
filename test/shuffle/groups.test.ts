/**
 * groupsOf: the groups of a sorted stream of entry batches, each group's values read straight from
 * the batches (across batch boundaries), a partly read group skipped, what each group gave counted,
 * and the source's failure and early exit passed on.
 */
import { describe, expect, it } from "vitest";
import { groupsOf } from "../../src/shuffle/groups.ts";
import type { ShuffleEntry } from "../../src/shuffle/frame.ts";
import type { ShuffleKey } from "../../src/shuffle/key.ts";

type Entry = ShuffleEntry<string>;

/** `keys` as entries whose record names the key and its place, cut into batches of the given sizes (the last size repeats). */
function batchesOf(keys: ShuffleKey[], sizes: number[]): Entry[][] {
  const entries = keys.map((key, i): Entry => ({ key, sort: undefined, record: `${String(key)}#${i}` }));
  const out: Entry[][] = [];
  for (let at = 0, k = 0; at < entries.length; k++) {
    const size = sizes[Math.min(k, sizes.length - 1)];
    out.push(entries.slice(at, at + size));
    at += size;
  }
  return out;
}

async function* stream(batches: Entry[][], events: string[] = [], failAfter = Infinity): AsyncGenerator<Entry[]> {
  try {
    for (const [i, batch] of batches.entries()) {
      if (i >= failAfter) throw new Error(`batch ${i} unreadable`);
      events.push(`batch ${i}`);
      yield batch;
    }
  } finally {
    events.push("closed");
  }
}

describe("groupsOf", () => {
  it("gives each key's values in stream order, across batch boundaries and empty batches, and counts them", async () => {
    const keys = ["a", "a", "a", "b", "c", "c", "c", "c", "c", "d"];
    const batches = batchesOf(keys, [2, 0, 1, 3, 1, 10]);
    const seen: [ShuffleKey, string[], number][] = [];
    for await (const group of groupsOf(stream(batches))) {
      const values: string[] = [];
      for await (const v of group.values) values.push(v);
      seen.push([group.key, values, group.values.taken]);
    }
    expect(seen).toEqual([
      ["a", ["a#0", "a#1", "a#2"], 3],
      ["b", ["b#3"], 1],
      ["c", ["c#4", "c#5", "c#6", "c#7", "c#8"], 5],
      ["d", ["d#9"], 1],
    ]);
  });

  it("skips what a reader left of a group, and a group asked for again after its end stays ended", async () => {
    const keys = [1, 1, 1, 1, 2, 2, 3];
    const got: [ShuffleKey, string[], number][] = [];
    for await (const group of groupsOf(stream(batchesOf(keys, [3])))) {
      const it = group.values[Symbol.asyncIterator]();
      const first = await it.next();
      got.push([group.key, first.done ? [] : [first.value], group.values.taken]);
    }
    expect(got).toEqual([
      [1, ["1#0"], 1],
      [2, ["2#4"], 1],
      [3, ["3#6"], 1],
    ]);
    const groups = groupsOf(stream(batchesOf(["x", "y"], [1])));
    const x = (await groups.next()).value!;
    expect(await x.values.next()).toEqual({ value: "x#0", done: false });
    expect(await x.values.next()).toEqual({ value: undefined, done: true });
    expect(await x.values.next()).toEqual({ value: undefined, done: true });
    expect((await groups.next()).value!.key).toBe("y");
  });

  it("an empty stream has no group; a failing source fails the values being read; leaving early closes the source", async () => {
    const none: ShuffleKey[] = [];
    for await (const group of groupsOf(stream([[], []]))) none.push(group.key);
    expect(none).toEqual([]);

    const failing = groupsOf(stream(batchesOf(["a", "a", "a", "b"], [2]), [], 1));
    const a = (await failing.next()).value!;
    const read: string[] = [];
    await expect(
      (async () => {
        for await (const v of a.values) read.push(v);
      })(),
    ).rejects.toThrow("batch 1 unreadable");
    expect(read).toEqual(["a#0", "a#1"]);

    const events: string[] = [];
    for await (const group of groupsOf(stream(batchesOf(["a", "b", "c"], [1]), events))) {
      if (group.key === "b") break;
    }
    expect(events).toEqual(["batch 0", "batch 1", "closed"]);
  });
});
