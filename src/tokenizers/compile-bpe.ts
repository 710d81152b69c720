/**
 * The compiled form of a byte-level BPE vocabulary: everything the encoder looks up, held in flat
 * typed arrays (token bytes in one blob with offsets, the byte → id table, the pair → merge hash
 * table, merge results and ranks, and a hash table from a whole token's bytes to its id). Compiling
 * checks the definition (ids, ranks, the 256 byte tokens) once; a compiled vocabulary can be saved
 * as one binary file and mapped back without rebuilding anything (see vocabulary-cache.ts), which is
 * what lets every worker thread start encoding without deriving the tables again.
 */
import { TokenizerFormatError, VocabularyTooLargeError } from "./errors.ts";
import { NO_MERGE, PairTable, BytesIdTable } from "./merge-tables.ts";

/** Everything a byte-level BPE needs; built by the vocabulary loaders. */
export interface BpeDefinition {
  name: string;
  /** Bytes of each mergeable token, indexed by id; holes are ids without bytes. */
  tokenBytes: ReadonlyArray<Uint8Array | undefined>;
  /** Merge rules: pair (left, right) becomes `result`; lower `rank` merges first. */
  merges: { left: Uint32Array; right: Uint32Array; result: Uint32Array; rank: Uint32Array };
  /** Global, Unicode-aware pre-tokenization regex. */
  pattern: RegExp;
  specialTokens: Record<string, number>;
  eosId?: number;
  /** Take a piece that is itself a token as one id without merging (tiktoken and `ignore_merges` rule). */
  wholePieceLookup: boolean;
  /** Pieces kept in each generation of the cache (default 131072). */
  cacheSize?: number;
}

/** Ids and ranks are kept below this so that heap keys (rank * 2^27 + position) stay exact doubles. */
export const MAX_ID_SPACE = 2 ** 26;

export interface CompiledBpe {
  name: string;
  vocabSize: number;
  eosId?: number;
  specialTokens: Record<string, number>;
  pattern: { source: string; flags: string };
  wholePieceLookup: boolean;
  /** Bytes of id i are tokenBlob[tokenOffsets[i], tokenOffsets[i + 1]); an empty range is an id without bytes. */
  tokenOffsets: Uint32Array;
  tokenBlob: Uint8Array;
  byteToId: Uint32Array;
  mergeResult: Uint32Array;
  mergeRank: Uint32Array;
  pairs: PairTable;
  /** Whole mergeable token bytes → id (lowest id first); empty unless `wholePieceLookup`. */
  wholeTokens: BytesIdTable;
}

/** Checks a definition and builds its lookup tables. */
export function compileBpe(def: BpeDefinition): CompiledBpe {
  const vocabSize = checkedVocabSize(def);
  const encoder = new TextEncoder();
  const idBytes: (Uint8Array | undefined)[] = new Array(vocabSize);
  def.tokenBytes.forEach((bytes, id) => {
    if (bytes && bytes.length > 0) idBytes[id] = bytes;
  });
  const mergeableCount = def.tokenBytes.length;
  for (const [text, id] of Object.entries(def.specialTokens)) idBytes[id] ??= encoder.encode(text);
  const { offsets, blob } = packBytes(idBytes, vocabSize);

  const byteToId = new Uint32Array(256);
  const seen = new Uint8Array(256);
  for (let id = 0; id < mergeableCount; id++) {
    if (!def.tokenBytes[id] || offsets[id + 1] - offsets[id] !== 1) continue;
    const b = blob[offsets[id]];
    if (!seen[b]) {
      seen[b] = 1;
      byteToId[b] = id;
    }
  }
  const missing = seen.indexOf(0);
  if (missing >= 0) {
    throw new TokenizerFormatError(
      def.name,
      `the vocabulary has no token for byte 0x${missing.toString(16).padStart(2, "0")}`,
      "a byte-level BPE vocabulary needs one token for each of the 256 byte values",
    );
  }
  const wholeTokens = new BytesIdTable(blob, offsets, def.wholePieceLookup ? mergeableCount : 0);
  if (def.wholePieceLookup) {
    for (let id = 0; id < mergeableCount; id++) {
      if (def.tokenBytes[id] && offsets[id + 1] > offsets[id] && wholeTokens.find(blob, offsets[id], offsets[id + 1]) < 0) wholeTokens.insert(id);
    }
  }
  const { left, right, result, rank } = def.merges;
  for (let m = 0; m < rank.length; m++) {
    if (rank[m] >= MAX_ID_SPACE) {
      throw new VocabularyTooLargeError(def.name, `merge rank ${rank[m]} is above the ${MAX_ID_SPACE} ranks the BPE encoder supports`);
    }
  }
  const pairs = new PairTable(left.length);
  for (let m = 0; m < left.length; m++) {
    const existing = pairs.get(left[m], right[m]);
    if (existing === NO_MERGE || rank[existing] > rank[m]) pairs.set(left[m], right[m], m);
  }
  const flags = def.pattern.flags.replace(/[gy]/g, "");
  return {
    name: def.name,
    vocabSize,
    eosId: def.eosId,
    specialTokens: { ...def.specialTokens },
    pattern: { source: def.pattern.source, flags },
    wholePieceLookup: def.wholePieceLookup,
    tokenOffsets: offsets,
    tokenBlob: blob,
    byteToId,
    mergeResult: result,
    mergeRank: rank,
    pairs,
    wholeTokens,
  };
}

function checkedVocabSize(def: BpeDefinition): number {
  let maxId = def.tokenBytes.length - 1;
  for (const [text, id] of Object.entries(def.specialTokens)) {
    if (!Number.isInteger(id) || id < 0) {
      throw new TokenizerFormatError(def.name, `special token ${JSON.stringify(text)} has invalid id ${id}`, "ids are non-negative integers");
    }
    maxId = Math.max(maxId, id);
  }
  if (maxId >= 2 ** 32) throw new VocabularyTooLargeError(def.name, `largest id ${maxId} does not fit in 32 bits`);
  if (maxId >= MAX_ID_SPACE) {
    throw new VocabularyTooLargeError(def.name, `largest id ${maxId} is above the ${MAX_ID_SPACE} ids the BPE encoder supports`);
  }
  return maxId + 1;
}

function packBytes(idBytes: ReadonlyArray<Uint8Array | undefined>, vocabSize: number): { offsets: Uint32Array; blob: Uint8Array } {
  const offsets = new Uint32Array(vocabSize + 1);
  let total = 0;
  for (let id = 0; id < vocabSize; id++) {
    offsets[id] = total;
    total += idBytes[id]?.length ?? 0;
  }
  offsets[vocabSize] = total;
  const blob = new Uint8Array(total);
  for (let id = 0; id < vocabSize; id++) {
    const bytes = idBytes[id];
    if (bytes) blob.set(bytes, offsets[id]);
  }
  return { offsets, blob };
}
