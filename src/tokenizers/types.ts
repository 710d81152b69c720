/**
 * The one interface every kiln tokenizer implements (raw bytes, OpenAI vocabularies, Hugging Face
 * byte-level BPE files, trained ones), so that the tokenize step, the benchmarks and the tests can
 * treat them alike. `encode` always treats text as ordinary text: a literal `<|endoftext|>` in a
 * document becomes the tokens of those characters, never the special id; callers that want an
 * end-of-document marker pass `eosId` as `endId`.
 */
export interface Tokenizer {
  /** A short stable name such as `cl100k_base`, `bytes` or the file a vocabulary came from. */
  readonly name: string;
  /** One more than the largest id this tokenizer can produce (special tokens included). */
  readonly vocabSize: number;
  /** The end-of-text id when the vocabulary has one. */
  readonly eosId?: number;
  /** Special token text → id. Never produced by `encode`. */
  readonly specialTokens: Readonly<Record<string, number>>;
  /**
   * Token ids of `text`, treating every character (special-token look-alikes included) as text;
   * with `endId`, that id follows them in the same array (one allocation per document).
   */
  encode(text: string, endId?: number): Uint32Array;
  /** Text of `ids`; byte sequences that are not valid UTF-8 become U+FFFD. */
  decode(ids: ArrayLike<number>): string;
  /** `encode` over many texts. */
  encodeBatch(texts: readonly string[]): Uint32Array[];
}
