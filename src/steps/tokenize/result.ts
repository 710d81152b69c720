/**
 * The result a tokenize step returns, which train and eval steps consume: the tokenizer used and,
 * per split, the token shard files (relative to the step's output folder) with token, document and
 * UTF-8 byte counts. Bytes are those of the original text, so bits per byte are exact.
 */
export interface TokenSplit {
  shards: string[];
  tokens: number;
  documents: number;
  bytes: number;
}

export interface TokenizedResult {
  tokenizer: { name: string; vocabSize: number; eosId: number };
  /** The share of documents held out for validation (raised from the configured one on small inputs). */
  validationFraction?: number;
  splits: { train: TokenSplit; validation: TokenSplit };
}
