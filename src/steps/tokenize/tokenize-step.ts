/**
 * The `tokenize` step and the `trainTokenizer` step. Tokenize reads a step's parquet (or jsonl)
 * output, or files given directly (local paths, globs, https:// and gs:// URLs, read in place), as a
 * Dataset on the engine (one task per input split). From a step it reads `outputs/main` when the
 * step has one (a normalize or consolidate step: the kept documents, never `outputs/dups`), else
 * every parquet file. It encodes every document, appends the
 * end-of-document id, splits train/validation by a hash of the document id, and writes token shards
 * (`train/part-NNNNN.bin`, `validation/part-NNNNN.bin`: a routed write of the token-shard format,
 * no file for a split a task got no document of) plus `index.json` (shards, tokens and documents per
 * shard) and `stats.json` (tokens, documents and UTF-8 bytes per split). trainTokenizer learns a byte-level BPE vocabulary from a
 * sample of a step's documents and writes a Hugging Face tokenizer.json.
 */
import { Dataset, fn, runDataset } from "../../dataset/index.ts";
import { step, isStep, type InputSpec, type Step } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { fileSystemFor, joinPath } from "../../io/index.ts";
import { expandInputs, readSplit } from "../../io/formats.ts";
import { TOKEN_SHARD_HEADER_BYTES, dtypeForVocabSize } from "../../io/token-shards.ts";
import { trainBpeTokenizer, type BpeTrainingOptions } from "../../tokenizers/index.ts";
import type { TokenizedResult, TokenSplit } from "./result.ts";
import { TOKENIZE_FUNCTIONS as F, TokenizeInputError, encodeDocuments, splitOf, tokenizerFor } from "./tokenize-functions.ts";

export interface TrainedTokenizerResult {
  file: string;
  vocabSize: number;
  documents: number;
  bytes: number;
}

export interface TokenizeOptions {
  name: string;
  /** The step (or a sub-path of it) whose files hold the documents, or paths, globs and URLs read in place. */
  input: InputSpec | string | string[];
  /** Files below the input step's folder to read (default: `outputs/main/**\/*.parquet` when it exists, else every parquet file). */
  files?: string;
  /** "bytes", an OpenAI encoding ("cl100k_base"…), a tokenizer.json path, or a trainTokenizerStep. */
  tokenizer: string | Step<any, TrainedTokenizerResult, any>;
  /** Share of documents (by id hash) in the validation split; default 0.05. */
  validationFraction?: number;
  /**
   * Hold out at least about this many documents (default 0): on a small input the share is raised,
   * up to half of the documents, so that a source is not scored from one or two documents.
   */
  minValidationDocuments?: number;
  textField?: string;
  idField?: string;
  /** Worker threads (default: the run's shared pool of every core, or the step's thread for inputs under INLINE_INPUT_BYTES); 0 runs in the step's thread. */
  threads?: number;
}

/** The files below a step's folder to tokenize: `files`, else its kept documents (outputs/main), else every parquet file. */
async function inputFiles(folder: string, files: string | null): Promise<string> {
  if (files !== null) return joinPath(folder, files);
  const main = joinPath(folder, "outputs/main");
  const kept = (await fileSystemFor(main).list(main + "/")).some((f) => f.path.endsWith(".parquet"));
  return kept ? joinPath(main, "**/*.parquet") : joinPath(folder, "**/*.parquet");
}

export function tokenizeStep(opts: TokenizeOptions) {
  const trained = isStep(opts.tokenizer) ? opts.tokenizer : undefined;
  const direct = typeof opts.input === "string" ? [opts.input] : Array.isArray(opts.input) ? opts.input : null;
  const inputs: Record<string, InputSpec> = trained ? { tokenizer: trained } : {};
  if (typeof opts.input !== "string" && !Array.isArray(opts.input)) inputs.documents = opts.input;
  if (direct !== null && opts.files !== undefined) throw new TokenizeInputError(`tokenize step '${opts.name}': 'files' was given with paths as the input; put the glob in the input itself`);
  return step({
    name: opts.name,
    config: {
      paths: versioned(direct),
      files: versioned(opts.files ?? null),
      tokenizer: versioned(typeof opts.tokenizer === "string" ? opts.tokenizer : "trained"),
      validationFraction: versioned(opts.validationFraction ?? 0.05),
      minValidationDocuments: versioned(opts.minValidationDocuments ?? 0),
      textField: versioned(opts.textField ?? "text"),
      idField: versioned(opts.idField ?? "id"),
      format: versioned("kiln-token-shards-v1"),
      threads: opts.threads ?? null,
    },
    inputs,
    run: async (ctx): Promise<TokenizedResult> => {
      const cfg = ctx.config;
      const inputs = ctx.inputs;
      const trainedResult: unknown = trained ? inputs.tokenizer?.result : undefined;
      const spec =
        trained && typeof trainedResult === "object" && trainedResult !== null && "file" in trainedResult && typeof trainedResult.file === "string"
          ? joinPath(inputs.tokenizer.stepPath, trainedResult.file)
          : cfg.tokenizer;
      const tokenizer = await tokenizerFor(spec);
      const eosId = tokenizer.eosId;
      if (eosId === undefined) throw new TokenizeInputError(`tokenizer ${tokenizer.name} has no end-of-text token to separate documents`);
      const files = cfg.paths ?? (await inputFiles(inputs.documents.path, cfg.files));
      const threads = await tokenizeThreads(files, cfg.threads);
      const validationFraction = await heldOutShare(ctx, files, cfg.validationFraction, cfg.minValidationDocuments, threads);
      ctx.log(`tokenizing ${files} with ${tokenizer.name}, holding out ${(validationFraction * 100).toFixed(1)}% of the documents`);
      const encoded = Dataset.read(files)
        .select(cfg.idField, cfg.textField)
        .flatMap(fn(F, encodeDocuments, { tokenizer: spec, textField: cfg.textField, idField: cfg.idField, validationFraction }))
        .write(
          { train: ctx.path("train/part-{shard}.bin"), validation: ctx.path("validation/part-{shard}.bin") },
          { route: fn(F, splitOf), format: "tokens", vocabSize: tokenizer.vocabSize, omitEmpty: true },
        );
      const { counters, files: written } = await runDataset(ctx, encoded, { threads, label: "tokenize" });
      const user = counters.user;
      const width = dtypeForVocabSize(tokenizer.vocabSize);
      const relative = (p: string) => p.slice(ctx.outputPath.replace(/\/+$/, "").length + 1);
      const shards = written.map((f) => ({ split: f.tag, path: relative(f.path), tokens: (f.bytes - TOKEN_SHARD_HEADER_BYTES) / width, documents: f.rows }));
      const total = (which: "train" | "validation"): TokenSplit => ({
        shards: shards.filter((x) => x.split === which).map((x) => x.path),
        tokens: user[`${which}.tokens`] ?? 0,
        documents: user[`${which}.documents`] ?? 0,
        bytes: user[`${which}.bytes`] ?? 0,
      });
      const train = total("train");
      const validation = total("validation");
      const empty = user.empty_documents ?? 0;
      if (train.documents + validation.documents === 0) {
        throw new TokenizeInputError(`no documents with text in ${files} (${empty} empty); check the input and textField`);
      }
      ctx.counters.increment("documents", train.documents + validation.documents);
      ctx.counters.increment("tokens", train.tokens + validation.tokens);
      ctx.counters.increment("empty_documents_skipped", empty);
      const index = { format: "kiln-token-shards-v1", tokenizer: { name: tokenizer.name, vocabSize: tokenizer.vocabSize, eosId }, shards };
      await ctx.writeFile("index.json", JSON.stringify(index, null, 2));
      const strip = ({ shards: _s, ...rest }: TokenSplit) => rest;
      await ctx.writeFile("stats.json", JSON.stringify({ train: strip(train), validation: strip(validation), empty_documents: empty }, null, 2));
      return { tokenizer: { name: tokenizer.name, vocabSize: tokenizer.vocabSize, eosId }, validationFraction, splits: { train, validation } };
    },
  });
}

/**
 * Input files smaller than this in all are tokenized on the step's own thread unless `threads` is
 * configured: starting a worker thread (loading the engine and the vocabulary there) costs more CPU
 * than encoding a few MB, and one thread encodes 4 MB of files in well under a second.
 */
export const INLINE_INPUT_BYTES = 4 * 1024 * 1024;

/** The configured thread count, else 0 (the step's thread) for a small input, else the shared pool (undefined). */
export async function tokenizeThreads(files: string | string[], configured: number | null): Promise<number | undefined> {
  if (configured !== null) return configured;
  const splits = await expandInputs(files);
  const bytes = splits.reduce((n, s) => n + (s.end - s.start), 0);
  return bytes < INLINE_INPUT_BYTES ? 0 : undefined;
}

/** The validation share: `fraction`, raised so that about `minDocuments` are held out (at most half), counting the documents first when needed. */
async function heldOutShare(ctx: Parameters<typeof runDataset>[0], files: string | string[], fraction: number, minDocuments: number, threads: number | undefined): Promise<number> {
  if (minDocuments <= 0) return fraction;
  const { value: documents } = await runDataset(ctx, Dataset.read(files).count(), { threads, label: "count", progress: false });
  if (documents === 0) return fraction;
  return Math.max(fraction, Math.min(0.5, minDocuments / documents));
}

export interface TrainTokenizerOptions extends BpeTrainingOptions {
  name: string;
  input: InputSpec;
  /** Files below the input to read (default every parquet file). */
  files?: string;
  textField?: string;
  /** Train on at most this many UTF-8 bytes of text, taken in file order (default 8 MB). */
  maxBytes?: number;
}

export function trainTokenizerStep(opts: TrainTokenizerOptions) {
  return step({
    name: opts.name,
    config: {
      vocabSize: versioned(opts.vocabSize),
      specialTokens: versioned(opts.specialTokens ?? ["<|endoftext|>"]),
      files: versioned(opts.files ?? "**/*.parquet"),
      preTokenizer: versioned(opts.pattern ?? "cl100k"),
      minFrequency: versioned(opts.minFrequency ?? 2),
      textField: versioned(opts.textField ?? "text"),
      maxBytes: versioned(opts.maxBytes ?? 8_000_000),
    },
    inputs: { documents: opts.input },
    run: async (ctx): Promise<TrainedTokenizerResult> => {
      const texts: string[] = [];
      let bytes = 0;
      const field = ctx.config.textField;
      const files = await expandInputs(joinPath(ctx.inputs.documents.path, ctx.config.files));
      outer: for (const split of files) {
        for await (const batch of readSplit(split, { columns: [field] })) {
          for (const row of batch.rows as Array<Record<string, unknown>>) {
            const t = row[field];
            if (typeof t !== "string" || !t) continue;
            texts.push(t);
            bytes += Buffer.byteLength(t);
            if (bytes >= ctx.config.maxBytes) break outer;
          }
        }
      }
      const json = trainBpeTokenizer(texts, {
        vocabSize: ctx.config.vocabSize,
        specialTokens: ctx.config.specialTokens,
        minFrequency: ctx.config.minFrequency,
        pattern: ctx.config.preTokenizer,
      });
      await ctx.writeFile("tokenizer.json", JSON.stringify(json));
      ctx.counters.increment("training_documents", texts.length);
      return { file: "tokenizer.json", vocabSize: ctx.config.vocabSize, documents: texts.length, bytes };
    },
  });
}
