/**
 * The `nlp-corpus` package: 100 JSON files of 1,000 shuffled English sentences each, drawn from
 * very mixed registers (lyrics, transcripts, SMS, speeches, legal text, fiction, forum posts).
 * Since the sentences are shuffled there is no longer document to rebuild, so each sentence is one
 * record, identified by its file and index.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { packageDir } from "./packages.ts";
import { SourceError, type EmbeddedSourceSpec, type SourceRecord } from "./registry.ts";

export async function* readNlpCorpus(spec: EmbeddedSourceSpec): AsyncGenerator<SourceRecord> {
  const dir = path.join(packageDir("nlp-corpus"), "builds");
  const files = (await fsp.readdir(dir))
    .filter((f) => /^doc-\d+\.json$/.test(f))
    .sort((a, b) => Number(a.slice(4, -5)) - Number(b.slice(4, -5)));
  for (const file of files) {
    const full = path.join(dir, file);
    let sentences: unknown;
    try {
      sentences = JSON.parse(await fsp.readFile(full, "utf8"));
    } catch (err) {
      throw new SourceError(`nlp-corpus file ${full} is not valid JSON`, "reinstall the package (npm ci)", { cause: err });
    }
    if (!Array.isArray(sentences)) {
      throw new SourceError(`nlp-corpus file ${full} is not a JSON array of sentences`, "reinstall the package (npm ci)");
    }
    for (let i = 0; i < sentences.length; i++) {
      const text = sentences[i];
      if (typeof text !== "string") {
        throw new SourceError(`nlp-corpus file ${full}, item ${i}: not a string`, "reinstall the package (npm ci)");
      }
      yield { text, source: spec.name, source_id: `${file}#${i}` };
    }
  }
}
