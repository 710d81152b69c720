/**
 * Test fixtures for the attribute steps: a step that writes documents as a normalized source
 * (`outputs/main/part-NNNNN-of-MMMMM.parquet`, a document with id X in part partitionOf(X, M), each
 * part sorted by id, records {id, text, source, source_id}), and readers for part and attribute
 * files. Stands in for the normalize step in these tests.
 */
import { step } from "../../../src/graph/step.ts";
import { versioned } from "../../../src/graph/versioned.ts";
import { expandInputs, openWriter, readSplit } from "../../../src/io/formats.ts";
import { partitionOf } from "../../../src/shuffle/index.ts";

export interface FixtureDoc {
  id: string;
  text: string;
}

const pad = (n: number) => String(n).padStart(5, "0");

/** Groups documents into M parts by partitionOf(id, M), each sorted by id. */
export function partitionDocs(docs: readonly FixtureDoc[], numParts: number): FixtureDoc[][] {
  const parts: FixtureDoc[][] = Array.from({ length: numParts }, () => []);
  for (const d of docs) parts[partitionOf(d.id, numParts)].push(d);
  for (const p of parts) p.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return parts;
}

/** A step writing `docs` as a normalized source of `numParts` parts. */
export function normalizedSourceStep(name: string, docs: readonly FixtureDoc[], numParts: number, rowGroupRows = 2000) {
  return step({
    name: `fixtures/${name}`,
    config: { docs: versioned(docs.length), numParts: versioned(numParts), salt: versioned(Math.random()) },
    run: async (ctx) => {
      const parts = partitionDocs(docs, numParts);
      for (const [i, part] of parts.entries()) {
        const w = openWriter(ctx.path(`outputs/main/part-${pad(i)}-of-${pad(numParts)}.parquet`), "parquet", { rowGroupRows });
        await w.write(part.map((d, k) => ({ id: d.id, text: d.text, source: name, source_id: `${name}-${k}` })));
        await w.close();
      }
      return { documents: docs.length };
    },
  });
}

/** All rows of the parquet files matching a glob, per file (sorted by path). */
export async function readParquetFiles(glob: string): Promise<Map<string, Record<string, any>[]>> {
  const out = new Map<string, Record<string, any>[]>();
  for (const split of await expandInputs(glob)) {
    const rows: Record<string, any>[] = [];
    for await (const batch of readSplit(split)) rows.push(...(batch.rows as Record<string, any>[]));
    out.set(split.path, rows);
  }
  return out;
}
