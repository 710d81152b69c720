/**
 * The typed errors of the tokenizer layer: a tokenizer file kiln cannot use (unsupported model type,
 * malformed field, vocabulary too large), a vocabulary that cannot be loaded, bad trainer settings, and
 * token shard files that are corrupt or written with the wrong width. Each carries a stable code and a
 * hint saying what to do.
 */
import { KilnError } from "../errors.ts";

/** A tokenizer.json (or another vocabulary source) that kiln cannot turn into a tokenizer. */
export class TokenizerFormatError extends KilnError {
  constructor(source: string, message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_TOKENIZER_FORMAT", `${source}: ${message}`, hint, options);
  }
}

/** A tokenizer.json whose `model.type` is not a byte-level BPE (WordPiece, Unigram, WordLevel...). */
export class UnsupportedTokenizerModelError extends KilnError {
  readonly modelType: string;
  constructor(source: string, modelType: string) {
    super(
      "KILN_TOKENIZER_UNSUPPORTED_MODEL",
      `${source}: tokenizer model type "${modelType}" is not supported; kiln reads byte-level BPE tokenizers only`,
      "use a byte-level BPE tokenizer.json (model.type \"BPE\" with a ByteLevel pre-tokenizer and decoder), or train one with trainBpeTokenizer()",
    );
    this.modelType = modelType;
  }
}

/** A vocabulary whose ids do not fit in 32 bits (token shards store uint32 at most). */
export class VocabularyTooLargeError extends KilnError {
  constructor(source: string, detail: string) {
    super(
      "KILN_TOKENIZER_VOCAB_TOO_LARGE",
      `${source}: vocabulary too large: ${detail}`,
      "token ids must be integers below 2^32; use a smaller vocabulary",
    );
  }
}

/** Trainer settings or input that cannot produce a tokenizer. */
export class TokenizerTrainingError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_TOKENIZER_TRAINING", message, hint);
  }
}

export { TokenShardError } from "../io/token-shards.ts";
