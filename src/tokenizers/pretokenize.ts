/**
 * Pre-tokenization patterns: the regular expressions that split text into pieces before byte-level
 * BPE runs on each piece. Written for JavaScript (`u` flag, Unicode property escapes) so that they
 * split exactly as the Rust patterns of the OpenAI vocabularies do. Two differences from a naive
 * transcription matter: JavaScript's `\s` includes U+FEFF and lacks U+0085 while Rust's Unicode `\s`
 * is the White_Space property, so `\p{White_Space}` is used; and Rust's case-insensitive `'s` also
 * matches the long s (U+017F), spelt out here because Node 20 has no inline `(?i:)` groups.
 */
import { TokenizerFormatError } from "./errors.ts";

const WS = String.raw`\p{White_Space}`;
const NOT_WS = String.raw`\P{White_Space}`;
const CONTRACTION = String.raw`'(?:[sS\u017F]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])`;

/** The pattern of cl100k_base (GPT-3.5/4). */
export const CL100K_PATTERN =
  String.raw`${CONTRACTION}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^${WS}\p{L}\p{N}]+[\r\n]*|${WS}*[\r\n]+|${WS}+(?!${NOT_WS})|${WS}+`;

const UPPER = String.raw`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`;
const LOWER = String.raw`[\p{Ll}\p{Lm}\p{Lo}\p{M}]`;
/** The pattern of o200k_base (GPT-4o). */
export const O200K_PATTERN =
  String.raw`[^\r\n\p{L}\p{N}]?${UPPER}*${LOWER}+(?:${CONTRACTION})?|[^\r\n\p{L}\p{N}]?${UPPER}+${LOWER}*(?:${CONTRACTION})?|\p{N}{1,3}| ?[^${WS}\p{L}\p{N}]+[\r\n/]*|${WS}*[\r\n]+|${WS}+(?!${NOT_WS})|${WS}+`;

/** The pattern of GPT-2 (r50k_base, p50k_base) and of the Hugging Face ByteLevel pre-tokenizer. */
export const GPT2_PATTERN =
  String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|${WS}+(?!${NOT_WS})|${WS}+`;

/** The same patterns as they are written for Rust / Oniguruma, as they appear in tokenizer.json files. */
export const SOURCE_PATTERNS: Readonly<Record<string, string>> = {
  cl100k: String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  o200k: String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  gpt2: String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
};

/** The inline-flag group Rust patterns use for English contractions; Node 20 cannot parse `(?i:`. */
const CASE_INSENSITIVE_CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";

const JS_FOR_SOURCE: Record<string, string> = {
  [SOURCE_PATTERNS.cl100k]: CL100K_PATTERN,
  [SOURCE_PATTERNS.o200k]: O200K_PATTERN,
  [SOURCE_PATTERNS.gpt2]: GPT2_PATTERN,
};

/**
 * Turns a pattern written for Rust / Oniguruma (as found in a tokenizer.json Split pre-tokenizer)
 * into a global JavaScript RegExp. The known OpenAI/GPT-2 patterns map to the exact translations
 * above; any other pattern gets `\s`/`\S` rewritten to White_Space and the case-insensitive
 * contraction group spelt out, and must otherwise be valid JavaScript, or a TokenizerFormatError
 * names it.
 */
export function compilePattern(source: string, origin: string): RegExp {
  const known = JS_FOR_SOURCE[source];
  if (known !== undefined) return new RegExp(known, "gu");
  const rewritten = source
    .split(CASE_INSENSITIVE_CONTRACTIONS)
    .map((part) => part.replace(/\\\\|\\s|\\S/g, (m) => (m === "\\s" ? WS : m === "\\S" ? NOT_WS : m)))
    .join(`(?:${CONTRACTION})`);
  try {
    return new RegExp(rewritten, "gu");
  } catch (err) {
    throw new TokenizerFormatError(
      origin,
      `pre-tokenizer pattern ${JSON.stringify(source)} is not a valid JavaScript regular expression`,
      "use a pattern without inline flags such as (?i:...) or possessive quantifiers, or one of the cl100k/o200k/GPT-2 patterns",
      { cause: err },
    );
  }
}
