/**
 * Public entry of kiln's tokenizers: the `Tokenizer` interface, the raw-bytes tokenizer, the OpenAI
 * vocabularies, Hugging Face byte-level BPE files, the BPE trainer, and token shard reading and
 * writing. Other parts of kiln import tokenizers from here only.
 */
export type { Tokenizer } from "./types.ts";
export { loadTokenizer } from "./load.ts";
export { ByteTokenizer } from "./bytes.ts";
export { ByteLevelBpeTokenizer } from "./bpe.ts";
export { loadOpenAiTokenizer, type OpenAiEncodingName } from "./openai.ts";
export { loadHuggingFaceTokenizer, tokenizerFromHuggingFaceJson } from "./huggingface.ts";
export { trainBpeTokenizer, type BpeTrainingOptions } from "./trainer.ts";
export {
  TokenShardWriter,
  writeTokenShard,
  readTokenShard,
  parseTokenShard,
  dtypeForVocabSize,
  TOKEN_SHARD_MAGIC,
  TOKEN_SHARD_HEADER_BYTES,
  type TokenShard,
  type TokenDtype,
  type TokenShardWriteResult,
} from "../io/token-shards.ts";
export {
  TokenizerFormatError,
  UnsupportedTokenizerModelError,
  VocabularyTooLargeError,
  TokenizerTrainingError,
  TokenShardError,
} from "./errors.ts";
