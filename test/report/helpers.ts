/**
 * Shared by the report and lineage tests: small JSONL sources for test/fixtures/pipelines/report-mini.ts
 * (deterministic text, with exact and near duplicates so dedup and consolidate have work), the
 * output folder of a step by name, and the report commands run in-process.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { registerReportCommands } from "../../src/cli/report-commands.ts";

const WORDS: Record<string, string[]> = {
  alpha: ["river", "stone", "light", "winter", "garden", "letter", "morning", "window", "harbor", "road", "lamp", "field"],
  beta: ["vector", "kernel", "buffer", "thread", "socket", "packet", "cache", "index", "queue", "shard", "token", "frame"],
};

/** A deterministic pseudo-random sentence stream per source. */
function documents(source: string, count: number): string[] {
  const words = WORDS[source];
  let seed = source.length * 7919;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const docs: string[] = [];
  for (let d = 0; d < count; d++) {
    const sentences: string[] = [];
    for (let s = 0; s < 4; s++) {
      const n = 8 + (next() % 8);
      const w = Array.from({ length: n }, () => words[next() % words.length]);
      sentences.push(w.join(" ") + ".");
    }
    docs.push(`${source} document ${d}: ${sentences.join(" ")}`);
  }
  return docs;
}

/** Writes alpha.jsonl and beta.jsonl: 60 documents each, plus 3 exact copies and 3 near copies. */
export function writeMiniSources(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const source of Object.keys(WORDS)) {
    const docs = documents(source, 60);
    const extra = [...docs.slice(0, 3), ...docs.slice(3, 6).map((t) => `${t} again`)];
    const lines = [...docs, ...extra].map((text, i) => JSON.stringify({ id: `${source}-${i}`, text }));
    writeFileSync(path.join(dir, `${source}.jsonl`), lines.join("\n") + "\n");
  }
}

/** The output folder of step `name` (e.g. "train/mini") under `prefix`. */
export function outputOf(prefix: string, name: string): string {
  const parent = path.join(prefix, path.dirname(name));
  const leaf = path.basename(name);
  const hit = readdirSync(parent).find((d) => new RegExp(`^${leaf.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-f]{8}$`).test(d));
  if (!hit) throw new Error(`no output folder for ${name} in ${parent}`);
  return path.join(parent, hit);
}

/** Runs `kiln report …` / `kiln lineage …` through the registered commands, returning what they print. */
export async function reportCommand(args: string[]): Promise<string> {
  let out = "";
  const program = new Command("kiln").exitOverride();
  registerReportCommands(program, { stdout: (text) => (out += text) });
  await program.parseAsync(args, { from: "user" });
  return out;
}
