/**
 * The inputs of the before/after step benchmark, written once by kiln steps under a shared data
 * folder (kept by their SUCCESS markers; a new size writes a new version), so that both checkouts
 * read the very same files:
 * - quickstart: every embedded source materialised as JSONL parts (what `npm start` downloads);
 * - generated: about `bytes` of JSONL in source "generated": Brown-vocabulary rounds (see
 *   brown-vocabulary.ts) with labelled near copies and half-overlap negatives (buildLabelledSet),
 *   the SpamAssassin spam bodies mixed into round 0, and 10 % of documents written twice (exact
 *   copies); plus source "shuffled", a tenth of those documents with their words shuffled, the
 *   negative class of the quality classifier.
 * Also counts the documents and text bytes of a normalize step's output, the input of the steps
 * after it.
 */
import * as path from "node:path";
import { buildGraph, runGraph, step, versioned } from "../../src/index.ts";
import { expandInputs, openWriter, readSplit, type RecordWriter } from "../../src/io/formats.ts";
import { buildLabelledSet } from "../../src/steps/minhash/accuracy.ts";
import { seededUint32 } from "../../src/steps/minhash/signature.ts";
import { BUILTIN_SOURCES, materializeSource } from "../../src/steps/sources/index.ts";
import { spamBodies } from "../../test/steps/minhash/corpora.ts";
import { brownVocabularyRounds } from "./brown-vocabulary.ts";

export type CorpusName = "quickstart" | "generated";
export const CORPORA: CorpusName[] = ["quickstart", "generated"];

/** One source of a corpus: a folder of JSONL parts. */
export interface SourceInput {
  name: string;
  folder: string;
  files: number;
  documents: number;
  /** JSONL bytes as stored. */
  bytes: number;
}

export interface CorpusInput {
  name: CorpusName;
  description: string;
  sources: SourceInput[];
  /** Sources whose documents the quality classifier learns to keep, and to drop. */
  positive: string[];
  negative: string[];
}

const PART_BYTES = 20e6;
const EXACT_COPY_FRACTION = 0.1;
const SHUFFLED_FRACTION = 0.1;
const SEED = 20261122;

const DESCRIPTIONS: Record<CorpusName, string> = {
  quickstart: "every embedded source (Brown by genre family, SpamAssassin ham and spam, nlp-corpus, JS/TS code) materialised as JSONL parts",
  generated:
    "Brown-vocabulary rounds with labelled near copies and half-overlaps, SpamAssassin spam bodies in round 0, 10 % exact copies (source 'generated'); " +
    "a tenth of those documents with shuffled words (source 'shuffled')",
};

/** JSONL parts of one source, a new part every PART_BYTES. */
class JsonlParts {
  private writer: RecordWriter | undefined;
  private pending: { text: string; source: string; source_id: string }[] = [];
  private partBytes = 0;
  private files = 0;
  private documents = 0;
  private bytes = 0;

  constructor(
    private readonly root: string,
    private readonly source: string,
  ) {}

  get writtenBytes(): number {
    return this.bytes + this.partBytes;
  }

  async add(text: string, sourceId: string): Promise<void> {
    if (!this.writer || this.partBytes >= PART_BYTES) await this.rotate();
    const row = { text, source: this.source, source_id: sourceId };
    this.partBytes += Buffer.byteLength(JSON.stringify(row)) + 1;
    this.documents++;
    this.pending.push(row);
    if (this.pending.length >= 1000) await this.flush();
  }

  private async flush(): Promise<void> {
    await this.writer?.write(this.pending);
    this.pending = [];
  }

  private async rotate(): Promise<void> {
    await this.finishPart();
    this.writer = openWriter(path.join(this.root, this.source, `part-${String(this.files).padStart(5, "0")}.jsonl`), "jsonl");
    this.files++;
  }

  private async finishPart(): Promise<void> {
    if (!this.writer) return;
    await this.flush();
    this.bytes += (await this.writer.close()).bytes;
    this.partBytes = 0;
    this.writer = undefined;
  }

  async close(): Promise<SourceInput> {
    await this.finishPart();
    return { name: this.source, folder: this.source, files: this.files, documents: this.documents, bytes: this.bytes };
  }
}

function shuffledWords(text: string, random: () => number): string {
  const words = text.split(/\s+/).filter(Boolean);
  for (let i = words.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [words[i], words[j]] = [words[j], words[i]];
  }
  return words.join(" ");
}

async function writeGeneratedCorpus(root: string, targetBytes: number): Promise<SourceInput[]> {
  const generated = new JsonlParts(root, "generated");
  const shuffled = new JsonlParts(root, "shuffled");
  const next = seededUint32(SEED);
  const random = () => next() / 2 ** 32;
  let round = 0;
  rounds: for (const texts of brownVocabularyRounds()) {
    const docs = round === 0 ? [...texts, ...spamBodies()] : texts;
    for (const doc of buildLabelledSet(docs, { copyFraction: 0.3, overlapFraction: 0.1, seed: round + 1 })) {
      const id = `${round}:${doc.id}`;
      await generated.add(doc.text, id);
      if (random() < EXACT_COPY_FRACTION) await generated.add(doc.text, `${id}:copy`);
      if (random() < SHUFFLED_FRACTION) await shuffled.add(shuffledWords(doc.text, random), id);
      if (generated.writtenBytes >= targetBytes) break rounds;
    }
    round++;
  }
  return [await generated.close(), await shuffled.close()];
}

async function writeQuickstartCorpus(root: string): Promise<SourceInput[]> {
  const sources: SourceInput[] = [];
  for (const spec of BUILTIN_SOURCES) {
    const written = await materializeSource(spec, root);
    const bytes = written.files.reduce((s, f) => s + f.bytes, 0);
    sources.push({ name: spec.name, folder: spec.name, files: written.files.length, documents: written.records, bytes });
  }
  return sources;
}

function corpusStep(name: CorpusName, targetBytes: number) {
  return step({
    name: `steps-before-after/${name}`,
    config: { bytes: versioned(name === "generated" ? targetBytes : 0), format: versioned(1) },
    run: async (ctx): Promise<{ sources: SourceInput[] }> => ({
      sources: name === "generated" ? await writeGeneratedCorpus(ctx.path("sources"), targetBytes) : await writeQuickstartCorpus(ctx.path("sources")),
    }),
  });
}

/** Writes (or finds) the named corpora under `prefix`; source folders in the result are absolute. */
export async function buildCorpora(prefix: string, names: CorpusName[], targetBytes: number): Promise<CorpusInput[]> {
  const summary = await runGraph(buildGraph(names.map((n) => corpusStep(n, targetBytes))), { prefix, log: () => undefined });
  if (!summary.ok) throw summary.failed[0].error;
  return names.map((name) => {
    const outcome = summary.outcomes.find((o) => o.node.name === `steps-before-after/${name}`)!;
    const { sources } = outcome.result as { sources: SourceInput[] };
    const names = sources.map((s) => s.name);
    return {
      name,
      description: DESCRIPTIONS[name],
      sources: sources.map((s) => ({ ...s, folder: path.join(outcome.outputPath, "sources", s.folder) })),
      positive: name === "generated" ? ["generated"] : names.filter((n) => n.startsWith("brown-")),
      negative: name === "generated" ? ["shuffled"] : ["spam-assassin-spam"],
    };
  });
}

/** Documents and UTF-8 text bytes of the parquet files matching `pattern` (a normalize step's outputs/main). */
export async function countDocuments(pattern: string): Promise<{ documents: number; bytes: number }> {
  let documents = 0;
  let bytes = 0;
  for (const split of await expandInputs(pattern)) {
    for await (const batch of readSplit(split, { columns: ["text"] })) {
      for (const row of batch.rows) {
        documents++;
        if (typeof row === "object" && row !== null && "text" in row && typeof row.text === "string") bytes += Buffer.byteLength(row.text);
      }
    }
  }
  return { documents, bytes };
}
