/**
 * One tokenize task: read one input split (a parquet or jsonl file, or a byte range of one),
 * encode each document's text, append the end-of-document id, and send it to the train or the
 * validation shard of this task by a deterministic hash of the document id. Runs in a worker thread
 * (or inline); its description and its answer are plain JSON.
 */
import { xxh3 } from "@node-rs/xxhash";
import { KilnError } from "../../errors.ts";
import { readSplit, type InputSplit } from "../../io/formats.ts";
import { loadTokenizer, TokenShardWriter, type Tokenizer } from "../../tokenizers/index.ts";

export interface TokenizeSplitTask {
  split: InputSplit;
  /** "bytes", an OpenAI encoding name such as "cl100k_base", or a tokenizer.json path. */
  tokenizer: string;
  textField: string;
  idField: string;
  validationFraction: number;
  /** Shard paths to write for this task. */
  trainPath: string;
  validationPath: string;
}

export interface SplitStats {
  tokens: number;
  documents: number;
  bytes: number;
}

export interface TokenizeSplitResult {
  train: SplitStats & { path: string | null };
  validation: SplitStats & { path: string | null };
  emptyDocuments: number;
}

export class TokenizeInputError extends KilnError {
  constructor(message: string) {
    super("KILN_TOKENIZE_INPUT", message, "tokenize reads records with a string text field (see the textField option)");
  }
}

const TWO_POW_64 = 2 ** 64;

/** True when the document with this id belongs to the validation split. */
export function isValidation(id: string, fraction: number): boolean {
  if (fraction <= 0) return false;
  if (fraction >= 1) return true;
  return Number(xxh3.xxh64(id, 0x6b696c6en)) / TWO_POW_64 < fraction;
}

const loaded = new Map<string, Promise<Tokenizer>>();

/** One load per tokenizer and thread (tokenizer.json files included). */
export function tokenizerFor(spec: string): Promise<Tokenizer> {
  let t = loaded.get(spec);
  if (!t) loaded.set(spec, (t = loadTokenizer(spec)));
  return t;
}

export async function tokenizeSplit(task: TokenizeSplitTask): Promise<TokenizeSplitResult> {
  const tokenizer = await tokenizerFor(task.tokenizer);
  const eos = tokenizer.eosId;
  if (eos === undefined) throw new TokenizeInputError(`tokenizer ${tokenizer.name} has no end-of-text token to separate documents`);
  const writers = {
    train: await TokenShardWriter.open(task.trainPath, { vocabSize: tokenizer.vocabSize }),
    validation: await TokenShardWriter.open(task.validationPath, { vocabSize: tokenizer.vocabSize }),
  };
  const stats = { train: { tokens: 0, documents: 0, bytes: 0 }, validation: { tokens: 0, documents: 0, bytes: 0 } };
  let emptyDocuments = 0;
  try {
    for await (const batch of readSplit(task.split, { columns: [task.idField, task.textField] })) {
      for (let i = 0; i < batch.rows.length; i++) {
        const row = batch.rows[i] as Record<string, unknown>;
        const text = row?.[task.textField];
        if (typeof text !== "string") {
          throw new TokenizeInputError(
            `${task.split.path} record ${batch.firstLine + i}: field '${task.textField}' is ${text === undefined ? "missing" : typeof text}, not a string`,
          );
        }
        if (text.length === 0) {
          emptyDocuments++;
          continue;
        }
        const id = typeof row[task.idField] === "string" ? (row[task.idField] as string) : `${task.split.path}:${batch.firstLine + i}`;
        const which = isValidation(id, task.validationFraction) ? "validation" : "train";
        const ids = tokenizer.encode(text);
        const withEos = new Uint32Array(ids.length + 1);
        withEos.set(ids);
        withEos[ids.length] = eos;
        await writers[which].append(withEos);
        const s = stats[which];
        s.tokens += withEos.length;
        s.documents++;
        s.bytes += Buffer.byteLength(text, "utf8");
      }
    }
    const finish = async (which: "train" | "validation") => {
      if (stats[which].documents === 0) {
        await writers[which].abort();
        return { ...stats[which], path: null };
      }
      await writers[which].close();
      return { ...stats[which], path: which === "train" ? task.trainPath : task.validationPath };
    };
    return { train: await finish("train"), validation: await finish("validation"), emptyDocuments };
  } catch (err) {
    await Promise.all([writers.train.abort(), writers.validation.abort()]);
    throw err;
  }
}
