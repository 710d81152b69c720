/**
 * An execution whose intermediate folder is on an object store, as remote workers share it on a
 * gs:// prefix: exchange files (reshard, take) are uploaded and read back by byte ranges, shuffle
 * files go through the same storage, the rows are exactly those computed here, and nothing is left
 * under the folder afterwards. Against the fake GCS server (the official client over HTTP).
 */
import { describe, expect, it } from "vitest";
import { Dataset, fn } from "../../src/index.ts";
import { executeDataset } from "../../src/dataset/exec/execute.ts";
import { fileSystemFor } from "../../src/io/index.ts";
import { useFakeGcs } from "../support/fake-gcs-suite.ts";
import { expectedGroups, residue, sumGroup, type NumberRow } from "./fixtures/functions.ts";

const FUNCTIONS = new URL("./fixtures/functions.ts", import.meta.url).href;
const scratch = "gs://kiln-test/scratch/step.work";

describe("intermediate files on an object store", () => {
  useFakeGcs();

  it("reshards, shuffles and takes through gs:// and leaves nothing behind", async () => {
    const items: NumberRow[] = Array.from({ length: 900 }, (_, n) => ({ n }));
    const grouped = Dataset.fromItems(items, { shards: 4 }).reshard(3).groupBy(fn(FUNCTIONS, residue), fn(FUNCTIONS, sumGroup), { numShards: 2 });
    const { rows } = await executeDataset(grouped, { executor: "inline", tmpDir: scratch, progress: false });
    expect([...rows].sort((a, b) => Number(a.key) - Number(b.key))).toEqual(expectedGroups(900));
    const first = await executeDataset(Dataset.fromItems(items, { shards: 4 }).reshard(2).take(5), { executor: "inline", tmpDir: scratch, progress: false });
    expect(first.rows).toHaveLength(5);
    expect(await fileSystemFor(scratch).list(scratch)).toEqual([]);
  });
});
