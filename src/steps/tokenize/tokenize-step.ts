/**
 * The `tokenize` step and the `trainTokenizer` step. Tokenize reads a step's parquet (or jsonl)
 * output, encodes every document on every core (one worker-thread task per input split), appends
 * the end-of-document id, splits train/validation by a hash of the document id, and writes token
 * shards plus `index.json` (shards, tokens and documents per shard) and `stats.json` (tokens,
 * documents and UTF-8 bytes per split). trainTokenizer learns a byte-level BPE vocabulary from a
 * sample of a step's documents and writes a Hugging Face tokenizer.json.
 */
import { availableParallelism } from "node:os";
import { step, isStep, type InputSpec, type Step } from "../../graph/step.ts";
import { versioned } from "../../graph/versioned.ts";
import { joinPath } from "../../io/index.ts";
import { expandInputs, readSplit } from "../../io/formats.ts";
import { trainBpeTokenizer, type BpeTrainingOptions } from "../../tokenizers/index.ts";
import { createTaskPool } from "../task-pool.ts";
import type { TokenizedResult, TokenSplit } from "./result.ts";
import { tokenizeSplit, tokenizerFor, type TokenizeSplitResult, type TokenizeSplitTask } from "./tokenize-split.ts";

export interface TrainedTokenizerResult {
  file: string;
  vocabSize: number;
  documents: number;
  bytes: number;
}

export interface TokenizeOptions {
  name: string;
  /** The step (or a sub-path of it) whose files hold the documents. */
  input: InputSpec;
  /** Files below the input to read (default every parquet file). */
  files?: string;
  /** "bytes", an OpenAI encoding ("cl100k_base"…), a tokenizer.json path, or a trainTokenizerStep. */
  tokenizer: string | Step<any, TrainedTokenizerResult, any>;
  /** Share of documents (by id hash) in the validation split; default 0.05. */
  validationFraction?: number;
  textField?: string;
  idField?: string;
  /** Worker threads (default: every core); 0 runs inline. */
  threads?: number;
}

const pad = (n: number) => String(n).padStart(5, "0");

export function tokenizeStep(opts: TokenizeOptions) {
  const trained = isStep(opts.tokenizer) ? opts.tokenizer : undefined;
  return step({
    name: opts.name,
    config: {
      files: versioned(opts.files ?? "**/*.parquet"),
      tokenizer: versioned(trained ? "trained" : (opts.tokenizer as string)),
      validationFraction: versioned(opts.validationFraction ?? 0.05),
      textField: versioned(opts.textField ?? "text"),
      idField: versioned(opts.idField ?? "id"),
      format: versioned("kiln-token-shards-v1"),
      threads: opts.threads ?? null,
    },
    inputs: (trained ? { documents: opts.input, tokenizer: trained } : { documents: opts.input }) as Record<string, InputSpec>,
    run: async (ctx): Promise<TokenizedResult> => {
      const inputs = ctx.inputs as Record<string, { path: string; stepPath: string; result: any }>;
      const spec = trained
        ? joinPath(inputs.tokenizer.stepPath, (inputs.tokenizer.result as TrainedTokenizerResult).file)
        : (ctx.config.tokenizer as string);
      const tokenizer = await tokenizerFor(spec);
      const splits = await expandInputs(joinPath(inputs.documents.path, ctx.config.files as string));
      const tasks: TokenizeSplitTask[] = splits.map((split, i) => ({
        split,
        tokenizer: spec,
        textField: ctx.config.textField as string,
        idField: ctx.config.idField as string,
        validationFraction: ctx.config.validationFraction as number,
        trainPath: ctx.path(`train/part-${pad(i)}.bin`),
        validationPath: ctx.path(`validation/part-${pad(i)}.bin`),
      }));
      const threads = Math.min(tasks.length, (ctx.config.threads as number | null) ?? availableParallelism());
      ctx.log(`tokenizing ${tasks.length} files with ${tokenizer.name} on ${Math.max(threads, 1)} thread(s)`);
      const pool = createTaskPool(new URL("./worker.mjs", import.meta.url), threads, ctx.signal);
      let results: TokenizeSplitResult[];
      try {
        results = await pool.runAll(tasks, "tokenizeSplit", tokenizeSplit);
      } finally {
        await pool.destroy();
      }
      const total = (which: "train" | "validation"): TokenSplit => {
        const parts = results.map((r) => r[which]);
        return {
          shards: parts.filter((p) => p.path).map((p) => p.path!.slice(ctx.outputPath.length + 1)),
          tokens: parts.reduce((s, p) => s + p.tokens, 0),
          documents: parts.reduce((s, p) => s + p.documents, 0),
          bytes: parts.reduce((s, p) => s + p.bytes, 0),
        };
      };
      const train = total("train");
      const validation = total("validation");
      const empty = results.reduce((s, r) => s + r.emptyDocuments, 0);
      if (train.documents + validation.documents === 0) {
        throw new Error(`no documents with text in ${inputs.documents.path}/${String(ctx.config.files)} (${empty} empty); check the input and textField`);
      }
      ctx.counters.increment("documents", train.documents + validation.documents);
      ctx.counters.increment("tokens", train.tokens + validation.tokens);
      ctx.counters.increment("empty_documents_skipped", empty);
      const index = {
        format: "kiln-token-shards-v1",
        tokenizer: { name: tokenizer.name, vocabSize: tokenizer.vocabSize, eosId: tokenizer.eosId },
        shards: results.flatMap((r) =>
          (["train", "validation"] as const)
            .filter((w) => r[w].path)
            .map((w) => ({ split: w, path: r[w].path!.slice(ctx.outputPath.length + 1), tokens: r[w].tokens, documents: r[w].documents })),
        ),
      };
      await ctx.writeFile("index.json", JSON.stringify(index, null, 2));
      const strip = ({ shards: _s, ...rest }: TokenSplit) => rest;
      await ctx.writeFile("stats.json", JSON.stringify({ train: strip(train), validation: strip(validation), empty_documents: empty }, null, 2));
      return { tokenizer: { name: tokenizer.name, vocabSize: tokenizer.vocabSize, eosId: tokenizer.eosId! }, splits: { train, validation } };
    },
  });
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
      const field = ctx.config.textField as string;
      const files = await expandInputs(joinPath(ctx.inputs.documents.path, ctx.config.files as string));
      outer: for (const split of files) {
        for await (const batch of readSplit(split, { columns: [field] })) {
          for (const row of batch.rows as Array<Record<string, unknown>>) {
            const t = row[field];
            if (typeof t !== "string" || !t) continue;
            texts.push(t);
            bytes += Buffer.byteLength(t);
            if (bytes >= (ctx.config.maxBytes as number)) break outer;
          }
        }
      }
      const json = trainBpeTokenizer(texts, {
        vocabSize: ctx.config.vocabSize as number,
        specialTokens: ctx.config.specialTokens as string[],
        minFrequency: ctx.config.minFrequency as number,
        pattern: ctx.config.preTokenizer as BpeTrainingOptions["pattern"],
      });
      await ctx.writeFile("tokenizer.json", JSON.stringify(json));
      ctx.counters.increment("training_documents", texts.length);
      return { file: "tokenizer.json", vocabSize: ctx.config.vocabSize as number, documents: texts.length, bytes };
    },
  });
}
