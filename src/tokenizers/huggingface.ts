/**
 * Reads Hugging Face `tokenizer.json` files that describe a byte-level BPE (GPT-2, Llama 3, Qwen,
 * and the files kiln's trainer writes): `model.type` "BPE" with a vocab object and merges in either
 * the "a b" string or the ["a", "b"] array form, a ByteLevel pre-tokenizer (alone or after a regex
 * Split), and a ByteLevel decoder. Added tokens become special tokens, never produced by `encode`.
 * Anything else (WordPiece, Unigram, normalizers, byte fallback...) is refused with a typed error
 * naming the file and the field, rather than encoded differently from the original.
 */
import { KilnError } from "../errors.ts";
import { fileSystemFor } from "../io/index.ts";
import { ByteLevelBpeTokenizer } from "./bpe.ts";
import { byteLevelToBytes } from "./bytelevel.ts";
import { TokenizerFormatError, UnsupportedTokenizerModelError, VocabularyTooLargeError } from "./errors.ts";
import { compilePattern, GPT2_PATTERN } from "./pretokenize.ts";

const EOS_CANDIDATES = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|im_end|>"];

type Json = Record<string, unknown>;

/** Reads and parses a tokenizer.json from any kiln filesystem path. */
export async function loadHuggingFaceTokenizer(path: string): Promise<ByteLevelBpeTokenizer> {
  let raw: string;
  try {
    raw = (await fileSystemFor(path).read(path)).toString("utf8");
  } catch (err) {
    if (err instanceof KilnError) throw err;
    throw new TokenizerFormatError(path, `cannot be read (${(err as Error).message})`, "check the tokenizer.json path", { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new TokenizerFormatError(path, "is not valid JSON", "pass a Hugging Face tokenizer.json file", { cause: err });
  }
  return tokenizerFromHuggingFaceJson(json, path);
}

/** Builds a tokenizer from parsed tokenizer.json content; `origin` names it in errors. */
export function tokenizerFromHuggingFaceJson(json: unknown, origin: string): ByteLevelBpeTokenizer {
  const fail = (field: string, problem: string, hint: string): never => {
    throw new TokenizerFormatError(origin, `${field}: ${problem}`, hint);
  };
  if (!isObject(json)) return fail("(root)", "not a JSON object", "pass a Hugging Face tokenizer.json file");
  const model = json.model;
  if (!isObject(model)) return fail("model", "missing", "a tokenizer.json needs a model section");
  const modelType = model.type ?? (isObject(model.vocab) && Array.isArray(model.merges) ? "BPE" : undefined);
  if (modelType !== "BPE") throw new UnsupportedTokenizerModelError(origin, String(modelType));
  if (model.byte_fallback === true) fail("model.byte_fallback", "byte fallback is not supported", "use a ByteLevel BPE");
  for (const field of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
    if (model[field] !== undefined && model[field] !== null && model[field] !== "") {
      fail(`model.${field}`, "subword affixes are not supported", "use a ByteLevel BPE without affixes");
    }
  }
  if (json.normalizer !== undefined && json.normalizer !== null) {
    fail("normalizer", `${describeType(json.normalizer)} is not supported`, "use a tokenizer without a normalizer");
  }
  const decoder = json.decoder;
  if (!isObject(decoder) || decoder.type !== "ByteLevel") {
    fail("decoder", `${describeType(decoder)} is not a ByteLevel decoder`, "kiln reads byte-level BPE tokenizers only");
  }
  const { pattern, addPrefixSpace } = readPreTokenizer(json.pre_tokenizer, origin, fail);

  const specialTokens: Record<string, number> = {};
  const addedIds = new Set<number>();
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) return fail("added_tokens", "not an array", "write added_tokens as a list");
  added.forEach((entry, i) => {
    if (!isObject(entry) || typeof entry.content !== "string") return fail(`added_tokens[${i}]`, "needs a string content", "fix the entry");
    const id = checkId(entry.id, `added_tokens[${i}].id`, origin);
    specialTokens[entry.content] = id;
    addedIds.add(id);
  });

  const vocab = model.vocab;
  if (!isObject(vocab)) return fail("model.vocab", "missing or not an object", "a BPE model needs a vocab object");
  let maxId = -1;
  for (const [token, value] of Object.entries(vocab)) maxId = Math.max(maxId, checkId(value, `model.vocab[${JSON.stringify(token)}]`, origin));
  for (const id of addedIds) maxId = Math.max(maxId, id);
  if (maxId >= 2 ** 32) throw new VocabularyTooLargeError(origin, `largest id ${maxId} does not fit in 32 bits`);

  const tokenBytes: (Uint8Array | undefined)[] = [];
  for (const [token, value] of Object.entries(vocab)) {
    const id = value as number;
    if (addedIds.has(id)) continue;
    const bytes = byteLevelToBytes(token);
    if (!bytes) fail(`model.vocab[${JSON.stringify(token)}]`, "is not written in the byte-level alphabet", "kiln reads byte-level BPE tokenizers only");
    tokenBytes[id] = bytes;
  }

  const merges = model.merges;
  if (!Array.isArray(merges)) return fail("model.merges", "missing or not an array", "a BPE model needs merges");
  const left = new Uint32Array(merges.length);
  const right = new Uint32Array(merges.length);
  const result = new Uint32Array(merges.length);
  const rank = new Uint32Array(merges.length);
  merges.forEach((merge, i) => {
    const pair = typeof merge === "string" ? merge.split(" ") : merge;
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      return fail(`model.merges[${i}]`, `${JSON.stringify(merge)} is not "a b" nor ["a", "b"]`, "write each merge as two tokens");
    }
    const [a, b] = pair as [string, string];
    const ids = [vocab[a], vocab[b], vocab[a + b]];
    if (ids.some((id) => typeof id !== "number")) {
      fail(`model.merges[${i}]`, `${JSON.stringify([a, b])} uses a token missing from the vocab`, "each merge's parts and result must be in model.vocab");
    }
    left[i] = ids[0] as number;
    right[i] = ids[1] as number;
    result[i] = ids[2] as number;
    rank[i] = i;
  });

  const eosText = EOS_CANDIDATES.find((t) => t in specialTokens);
  const tokenizer = new ByteLevelBpeTokenizer({
    name: origin,
    tokenBytes,
    merges: { left, right, result, rank },
    pattern,
    specialTokens,
    eosId: eosText === undefined ? undefined : specialTokens[eosText],
    wholePieceLookup: model.ignore_merges === true,
  });
  return addPrefixSpace ? withPrefixSpace(tokenizer) : tokenizer;
}

type Fail = (field: string, problem: string, hint: string) => never;

/** ByteLevel (regex or not), or a Sequence of a regex Split and a ByteLevel without regex. */
function readPreTokenizer(pre: unknown, origin: string, fail: Fail): { pattern: RegExp; addPrefixSpace: boolean } {
  const hint = "use a ByteLevel pre-tokenizer, optionally after a Split with a regex pattern";
  if (!isObject(pre)) return fail("pre_tokenizer", "missing", hint);
  if (pre.type === "ByteLevel") {
    return { pattern: new RegExp(pre.use_regex === false ? "[^]+" : GPT2_PATTERN, "gu"), addPrefixSpace: pre.add_prefix_space === true };
  }
  if (pre.type !== "Sequence" || !Array.isArray(pre.pretokenizers)) return fail("pre_tokenizer", `${describeType(pre)} is not supported`, hint);
  const steps = pre.pretokenizers as unknown[];
  const [split, byteLevel] = steps;
  if (steps.length !== 2 || !isObject(split) || split.type !== "Split" || !isObject(byteLevel) || byteLevel.type !== "ByteLevel") {
    return fail("pre_tokenizer", "only Sequence[Split, ByteLevel] is supported", hint);
  }
  const source = isObject(split.pattern) ? split.pattern.Regex : undefined;
  if (typeof source !== "string") return fail("pre_tokenizer.pretokenizers[0].pattern", "needs a Regex pattern", hint);
  if (split.behavior !== "Isolated" || split.invert === true) {
    fail("pre_tokenizer.pretokenizers[0]", `split behavior ${String(split.behavior)} (invert ${String(split.invert)}) is not supported`, "use behavior Isolated, invert false");
  }
  if (byteLevel.use_regex === true) fail("pre_tokenizer.pretokenizers[1].use_regex", "a second regex split is not supported", "set use_regex to false");
  return { pattern: compilePattern(source, `${origin} pre_tokenizer`), addPrefixSpace: byteLevel.add_prefix_space === true };
}

/** ByteLevel `add_prefix_space`: a space goes before text that does not start with one. */
function withPrefixSpace(inner: ByteLevelBpeTokenizer): ByteLevelBpeTokenizer {
  const encode = inner.encode.bind(inner);
  inner.encode = (text: string, endId?: number) => encode(text.startsWith(" ") ? text : " " + text, endId);
  inner.encodeBatch = (texts: readonly string[]) => texts.map((t) => inner.encode(t));
  return inner;
}

function checkId(value: unknown, field: string, origin: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new TokenizerFormatError(origin, `${field}: ${JSON.stringify(value)} is not a non-negative integer id`, "ids are integers from 0");
  }
  if (value >= 2 ** 32) throw new VocabularyTooLargeError(origin, `${field} is ${value}, which does not fit in 32 bits`);
  return value;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  return isObject(value) && typeof value.type === "string" ? `type "${value.type}"` : JSON.stringify(value) ?? "undefined";
}
