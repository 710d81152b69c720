/**
 * One way to name a tokenizer in a step's config: "bytes", an OpenAI encoding name ("gpt2",
 * "r50k_base", "p50k_base", "cl100k_base", "o200k_base"), or the path of a Hugging Face
 * tokenizer.json on any kiln filesystem (local or gs://). Resolves the name to a loaded tokenizer.
 */
import { ByteTokenizer } from "./bytes.ts";
import { TokenizerFormatError } from "./errors.ts";
import { loadHuggingFaceTokenizer } from "./huggingface.ts";
import { loadOpenAiTokenizer, type OpenAiEncodingName } from "./openai.ts";
import type { Tokenizer } from "./types.ts";

const OPENAI_NAMES: readonly string[] = ["gpt2", "r50k_base", "p50k_base", "cl100k_base", "o200k_base"];

export async function loadTokenizer(spec: string): Promise<Tokenizer> {
  if (spec === "bytes") return new ByteTokenizer();
  if (OPENAI_NAMES.includes(spec)) return loadOpenAiTokenizer(spec as OpenAiEncodingName);
  if (spec.endsWith(".json")) return loadHuggingFaceTokenizer(spec);
  throw new TokenizerFormatError(
    spec,
    "is not a tokenizer name nor a tokenizer.json path",
    `use "bytes", one of ${OPENAI_NAMES.join(", ")}, or the path of a Hugging Face tokenizer.json`,
  );
}
