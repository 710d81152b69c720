/**
 * The settings of near-duplicate detection, shared by the dedup step and the in-memory reference so
 * that both compute the same thing: the Jaccard threshold, the MinHash parameters (banding chosen
 * from the threshold unless bands and rows are given), the verification of candidate pairs, the text
 * normalisation before shingling, and how many comparisons a bucket member gets.
 */
import { checkThreshold, chooseBanding, DEFAULT_PERMUTATION_BUDGET } from "./banding.ts";
import { MinHashConfigError } from "./errors.ts";
import { DEFAULT_SCHEME, MINHASH_SCHEMES, type MinHashScheme } from "./one-permutation.ts";
import { resolveNormalization, type ResolvedNormalization, type ShingleNormalization } from "./shingles.ts";
import { MARIN_PARAMS, validateMinHashParams, type MinHashParams } from "./signature.ts";

/**
 * "exact": a candidate pair is joined only when the exact Jaccard similarity of its two shingle
 * sets reaches the threshold; "none": every member of a bucket is joined to the bucket's minimum
 * unchecked (star edges, the behaviour of Marin's and datatrove's pipelines).
 */
export type Verification = "exact" | "none";

/**
 * 0.65: a copy with 3 % of its words replaced has a 5-word-shingle Jaccard of about 0.73 with its
 * original, and one in twenty falls below 0.7 (measured on Brown); 0.65 keeps those copies.
 */
export const DEFAULT_THRESHOLD = 0.65;
export const DEFAULT_COMPARISONS_PER_MEMBER = 8;

export interface NearDuplicateSettings {
  /** Jaccard similarity of shingle sets at which two documents are near-duplicates (default 0.65). */
  threshold?: number;
  /**
   * MinHash parameters. Without `bands` and `rows` the banding is chosen from the threshold within
   * `numPerm` signature values (default 286; see banding.ts); with them, they are used as given.
   */
  params?: Partial<MinHashParams>;
  /**
   * Signature kernel (default "densified": one-permutation hashing with optimal densification, one
   * hash per shingle); "universal" computes one hash per shingle per permutation.
   */
  scheme?: MinHashScheme;
  /** Candidate verification (default "exact"). */
  verification?: Verification;
  /** Text normalisation before shingling (default: lower-case, punctuation deleted). */
  normalization?: ShingleNormalization;
  /** Pairs per bucket member at most: each is compared with the bucket's first members (default 8). */
  comparisonsPerMember?: number;
}

export interface ResolvedSettings {
  threshold: number;
  params: MinHashParams;
  scheme: MinHashScheme;
  /** Where bands and rows came from. */
  banding: "threshold" | "params";
  verification: Verification;
  normalization: ResolvedNormalization;
  comparisonsPerMember: number;
}

/** Fills in defaults and checks every setting; errors name `where` and the field. */
export function resolveSettings(settings: NearDuplicateSettings, where: string): ResolvedSettings {
  const threshold = checkThreshold(settings.threshold ?? DEFAULT_THRESHOLD, where);
  const verification = settings.verification ?? "exact";
  if (verification !== "exact" && verification !== "none") {
    throw new MinHashConfigError(`${where}: verification is ${JSON.stringify(verification)}`, "use 'exact' or 'none'");
  }
  const scheme = settings.scheme ?? DEFAULT_SCHEME;
  if (!MINHASH_SCHEMES.includes(scheme)) {
    throw new MinHashConfigError(`${where}: scheme is ${JSON.stringify(scheme)}`, `use one of ${MINHASH_SCHEMES.join(", ")} (default ${DEFAULT_SCHEME})`);
  }
  const comparisons = settings.comparisonsPerMember ?? DEFAULT_COMPARISONS_PER_MEMBER;
  if (!(Number.isSafeInteger(comparisons) && comparisons >= 1 && comparisons <= 1024)) {
    throw new MinHashConfigError(`${where}: comparisonsPerMember is ${comparisons}`, "use an integer in [1, 1024] (default 8)");
  }
  const given = settings.params ?? {};
  const explicit = given.bands !== undefined || given.rows !== undefined;
  let params: MinHashParams;
  if (explicit) {
    params = validateMinHashParams({ ...MARIN_PARAMS, ...given });
  } else {
    const { bands, rows } = chooseBanding(threshold, given.numPerm ?? DEFAULT_PERMUTATION_BUDGET);
    params = validateMinHashParams({ ...MARIN_PARAMS, ...given, numPerm: bands * rows, bands, rows });
  }
  return { threshold, params, scheme, banding: explicit ? "params" : "threshold", verification, normalization: resolveNormalization(settings.normalization), comparisonsPerMember: comparisons };
}
