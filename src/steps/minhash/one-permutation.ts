/**
 * MinHash signatures by one-permutation hashing with optimal densification, and the choice of
 * signature scheme.
 *
 * Scheme "densified" (the default): one-permutation hashing (P. Li, A. Owen, C.-H. Zhang, "One
 * Permutation Hashing", NeurIPS 2012) densified by the rule of A. Shrivastava, "Optimal Densification
 * for Fast and Accurate Minwise Hashing", ICML 2017. Each distinct shingle hash x is permuted once,
 * v = mix32(mix32(x ⊕ s₀) ⊕ s₁) (two seeded murmur3 finalisers: a bijection of 32-bit values), and
 * falls into bin ⌊v·K / 2^32⌋ (K = numPerm) with its offset in that bin's range as value; bin i of the signature is the smallest
 * value that fell into it. A bin no shingle fell into borrows, by the optimal-densification rule,
 * the value of the first non-empty bin along its own probe sequence h(i, 1), h(i, 2), … (a seeded
 * hash of the bin and the attempt, the same for every document), so each bin of two documents
 * agrees with probability equal to their Jaccard similarity and the bins stay nearly independent.
 * The cost is one hash per shingle plus a few probes per empty bin, against one hash per shingle
 * per permutation for scheme "universal" (signature.ts, kept as the reference and for comparison).
 * Values are ≤ 2^32 / K, so EMPTY_SLOT never collides with one; an empty document gets the
 * all-EMPTY_SLOT signature. Signatures are deterministic by seed.
 */
import { MinHashConfigError } from "./errors.ts";
import { foldHash32, mix32, Shingler, type ShingleNormalization } from "./shingles.ts";
import { EMPTY_SLOT, MinHasher, seededUint32, signatureBuffer, validateMinHashParams, type MinHashParams, type SignatureHasher } from "./signature.ts";

/** How signatures are computed: "densified" (one hash per shingle) or "universal" (one per shingle per permutation). */
export type MinHashScheme = "densified" | "universal";

export const DEFAULT_SCHEME: MinHashScheme = "densified";
export const MINHASH_SCHEMES: readonly MinHashScheme[] = ["densified", "universal"];

/** Probes along a bin's own sequence before the deterministic linear fallback (never reached in practice). */
const MAX_PROBES = 1 << 16;
const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;

/**
 * One-permutation hashing: every shingle once into its bin, keeping the smallest value per bin;
 * returns the number of non-empty bins. Bin ⌊v·K / 2^32⌋ is exact (v·K < 2^49); the value is v's
 * offset in the bin's range.
 */
function fillBins(shingles: Uint32Array, signature: Uint32Array, seedIn: number, seedOut: number, starts: Float64Array): number {
  const bins = signature.length;
  const scale = bins * INV_TWO_POW_32;
  signature.fill(EMPTY_SLOT);
  for (let i = 0; i < shingles.length; i++) {
    // Two seeded murmur3 finalisers, written out in int32 arithmetic (this loop is the kernel).
    let h = shingles[i] ^ seedIn;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= (h >>> 16) ^ seedOut;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    const v = (h ^ (h >>> 16)) >>> 0;
    const bin = (v * scale) | 0;
    const value = v - starts[bin];
    if (value < signature[bin]) signature[bin] = value;
  }
  let filled = 0;
  for (let bin = 0; bin < bins; bin++) if (signature[bin] !== EMPTY_SLOT) filled++;
  return filled;
}

/** One-permutation MinHash with optimal densification. Holds scratch buffers: one per worker. */
export class DensifiedMinHasher implements SignatureHasher {
  readonly params: MinHashParams;
  private readonly seedIn: number;
  private readonly seedOut: number;
  private readonly probeSeed: number;
  private readonly shingler: Shingler;
  /** First permuted value of each bin's range: ⌈i · 2^32 / K⌉. */
  private readonly binStarts: Float64Array;

  constructor(params: Partial<MinHashParams> = {}, normalization?: ShingleNormalization) {
    this.params = validateMinHashParams(params);
    const next = seededUint32(this.params.seed ^ 0x5f3759df);
    this.seedIn = next() | 0;
    this.seedOut = next() | 0;
    this.probeSeed = next() | 0;
    this.shingler = new Shingler(this.params.ngram, normalization);
    const bins = this.params.numPerm;
    this.binStarts = Float64Array.from({ length: bins }, (_, i) => Math.ceil((i * TWO_POW_32) / bins));
  }

  /** Sorted distinct shingle hashes of `text` (a fresh copy). */
  shingleHashes(text: string): Uint32Array {
    return this.shingler.shingleHashes(text).slice();
  }

  /** The signature of `text`; written into `out` when given (length numPerm). */
  signature(text: string, out?: Uint32Array): Uint32Array {
    return this.signatureOfShingles(this.shingler.shingleSequence(text), out);
  }

  /** The signature of a set of shingle hashes (duplicates allowed, order irrelevant). */
  signatureOfShingles(shingles: Uint32Array, out?: Uint32Array): Uint32Array {
    const bins = this.params.numPerm;
    const signature = signatureBuffer(bins, out);
    const filled = fillBins(shingles, signature, this.seedIn, this.seedOut, this.binStarts);
    if (filled > 0 && filled < bins) this.densify(signature);
    return signature;
  }

  /** Fills every empty bin from the first non-empty bin along its probe sequence (values read from non-empty bins only). */
  private densify(signature: Uint32Array): void {
    const bins = signature.length;
    const empty: number[] = [];
    for (let bin = 0; bin < bins; bin++) if (signature[bin] === EMPTY_SLOT) empty.push(bin);
    const borrowed = new Uint32Array(empty.length);
    for (let e = 0; e < empty.length; e++) borrowed[e] = this.borrow(signature, empty[e]);
    for (let e = 0; e < empty.length; e++) signature[empty[e]] = borrowed[e];
  }

  private borrow(signature: Uint32Array, bin: number): number {
    const bins = signature.length;
    const start = foldHash32(this.probeSeed, bin);
    const scale = bins * INV_TWO_POW_32;
    for (let attempt = 1; attempt <= MAX_PROBES; attempt++) {
      const value = signature[(mix32(foldHash32(start, attempt)) * scale) | 0];
      if (value !== EMPTY_SLOT) return value;
    }
    for (let step = 1; step < bins; step++) {
      const value = signature[(bin + step) % bins];
      if (value !== EMPTY_SLOT) return value;
    }
    return EMPTY_SLOT;
  }
}

/** The signature hasher of a scheme; "universal" is the per-permutation reference of signature.ts. */
export function createSignatureHasher(scheme: MinHashScheme, params: Partial<MinHashParams>, normalization?: ShingleNormalization): SignatureHasher {
  if (scheme === "densified") return new DensifiedMinHasher(params, normalization);
  if (scheme === "universal") return new MinHasher(params, normalization);
  throw new MinHashConfigError(`MinHash scheme is ${JSON.stringify(scheme)}`, `use one of ${MINHASH_SCHEMES.join(", ")} (default ${DEFAULT_SCHEME})`);
}
