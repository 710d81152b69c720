/**
 * The OpenAI vocabularies (GPT-2 = r50k_base, p50k_base, cl100k_base, o200k_base) as kiln tokenizers.
 * The BPE ranks come from the `gpt-tokenizer` package, which ships each as an array indexed by rank
 * whose entries are the token's text (UTF-8) or, for tokens that are not valid UTF-8, its bytes.
 * In these vocabularies a token's id is its rank, and two tokens merge when their concatenated bytes
 * are a token; the pair table is derived from that once and saved as a compiled vocabulary file
 * (vocabulary-cache.ts) that later processes and worker threads map instead of rebuilding. Only the data is taken from the
 * package: splitting and merging are kiln's own (see bpe.ts).
 */
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { ByteLevelBpeTokenizer } from "./bpe.ts";
import { compileBpe, type CompiledBpe } from "./compile-bpe.ts";
import { COMPILED_FORMAT_VERSION, loadCompiledVocabulary } from "./vocabulary-cache.ts";
import { TokenizerFormatError } from "./errors.ts";
import { CL100K_PATTERN, GPT2_PATTERN, O200K_PATTERN } from "./pretokenize.ts";

export type OpenAiEncodingName = "r50k_base" | "gpt2" | "p50k_base" | "cl100k_base" | "o200k_base";

interface EncodingSpec {
  ranksModule: string;
  pattern: string;
  specialTokens: Record<string, number>;
}

const ENCODINGS: Record<Exclude<OpenAiEncodingName, "gpt2">, EncodingSpec> = {
  r50k_base: { ranksModule: "r50k_base", pattern: GPT2_PATTERN, specialTokens: { "<|endoftext|>": 50256 } },
  p50k_base: { ranksModule: "p50k_base", pattern: GPT2_PATTERN, specialTokens: { "<|endoftext|>": 50256 } },
  cl100k_base: {
    ranksModule: "cl100k_base",
    pattern: CL100K_PATTERN,
    specialTokens: {
      "<|endoftext|>": 100257,
      "<|fim_prefix|>": 100258,
      "<|fim_middle|>": 100259,
      "<|fim_suffix|>": 100260,
      "<|endofprompt|>": 100276,
    },
  },
  o200k_base: {
    ranksModule: "o200k_base",
    pattern: O200K_PATTERN,
    specialTokens: { "<|endoftext|>": 199999, "<|endofprompt|>": 200018 },
  },
};

const loaded = new Map<string, Promise<ByteLevelBpeTokenizer>>();

/**
 * Loads an OpenAI vocabulary; `gpt2` is an alias of `r50k_base`. The default instance is shared per
 * process; passing `cacheSize` (pieces per cache generation) builds a separate one.
 */
export function loadOpenAiTokenizer(name: OpenAiEncodingName, options: { cacheSize?: number } = {}): Promise<ByteLevelBpeTokenizer> {
  const canonical = name === "gpt2" ? "r50k_base" : name;
  const spec = ENCODINGS[canonical as keyof typeof ENCODINGS];
  if (!spec) {
    throw new TokenizerFormatError(name, "unknown OpenAI encoding", `use one of ${Object.keys(ENCODINGS).join(", ")}, gpt2`);
  }
  if (options.cacheSize !== undefined) return build(canonical, spec, options.cacheSize);
  let pending = loaded.get(canonical);
  if (!pending) {
    pending = build(canonical, spec);
    loaded.set(canonical, pending);
  }
  return pending;
}

async function build(name: string, spec: EncodingSpec, cacheSize?: number): Promise<ByteLevelBpeTokenizer> {
  const { compiled } = await loadCompiledVocabulary(`${name}-${sourceStamp(spec)}`, () => compileOpenAi(name, spec));
  return new ByteLevelBpeTokenizer(compiled, cacheSize);
}

/** Names the installed rank file (size and modification time), so a compiled file is rebuilt when the package changes. */
function sourceStamp(spec: EncodingSpec): string {
  try {
    const file = createRequire(import.meta.url).resolve(`gpt-tokenizer/bpeRanks/${spec.ranksModule}`);
    const { size, mtimeMs } = statSync(file);
    return `${size}-${Math.floor(mtimeMs)}-v${COMPILED_FORMAT_VERSION}`;
  } catch {
    return `unstamped-${process.pid}-${Date.now()}`;
  }
}

/** Imports the rank array and compiles the vocabulary (the slow path, taken once per cache folder). */
async function compileOpenAi(name: string, spec: EncodingSpec): Promise<CompiledBpe> {
  const source = `gpt-tokenizer/bpeRanks/${spec.ranksModule}`;
  const mod = (await import(source)) as { default: (string | number[] | undefined)[] };
  const ranks = mod.default;
  if (!Array.isArray(ranks) || ranks.length === 0) {
    throw new TokenizerFormatError(source, "the package did not export a rank array", "reinstall gpt-tokenizer (npm ci)");
  }
  const encoder = new TextEncoder();
  const tokenBytes: (Uint8Array | undefined)[] = new Array(ranks.length);
  for (let id = 0; id < ranks.length; id++) {
    const entry = ranks[id];
    if (entry === undefined) continue;
    tokenBytes[id] = typeof entry === "string" ? encoder.encode(entry) : Uint8Array.from(entry);
  }
  return compileBpe({
    name,
    tokenBytes,
    merges: pairsFromRanks(tokenBytes),
    pattern: new RegExp(spec.pattern, "gu"),
    specialTokens: spec.specialTokens,
    eosId: spec.specialTokens["<|endoftext|>"],
    wholePieceLookup: true,
  });
}

/**
 * Derives merge rules from a rank-ordered vocabulary: a token whose bytes split into two tokens is
 * the merge of that pair, with the token's own rank. Each pair has one concatenation, hence one rule.
 */
export function pairsFromRanks(tokenBytes: ReadonlyArray<Uint8Array | undefined>) {
  const idOfBytes = new Map<string, number>();
  const keys: (string | undefined)[] = new Array(tokenBytes.length);
  tokenBytes.forEach((bytes, id) => {
    if (!bytes) return;
    const key = latin1(bytes);
    keys[id] = key;
    if (!idOfBytes.has(key)) idOfBytes.set(key, id);
  });
  const left: number[] = [];
  const right: number[] = [];
  const result: number[] = [];
  keys.forEach((key, id) => {
    if (key === undefined || key.length < 2) return;
    for (let k = 1; k < key.length; k++) {
      const l = idOfBytes.get(key.slice(0, k));
      if (l === undefined) continue;
      const r = idOfBytes.get(key.slice(k));
      if (r === undefined) continue;
      left.push(l);
      right.push(r);
      result.push(id);
    }
  });
  return {
    left: Uint32Array.from(left),
    right: Uint32Array.from(right),
    result: Uint32Array.from(result),
    rank: Uint32Array.from(result),
  };
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
