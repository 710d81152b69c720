/**
 * Choosing LSH bands and rows from a Jaccard threshold. Two documents of Jaccard similarity J share
 * at least one of b bands of r rows with probability P(J) = 1 − (1 − J^r)^b (the S-curve).
 *
 * The rule (documented in DESIGN.md): with a budget of `maxPermutations` signature values (default
 * 286, Marin's signature length), take for every r the most bands that fit, b = ⌊budget / r⌋, and
 * choose the LARGEST r whose curve still makes a pair exactly at the threshold a candidate with
 * probability ≥ 0.95. Candidates are verified afterwards (a pair is joined only when its similarity
 * reaches the threshold), so a candidate below the threshold costs a comparison, never a wrong
 * merge; what must be small is the chance of missing a pair at or above the threshold. Among the
 * bandings that keep that chance ≤ 5 %, the largest r makes the fewest candidates below the
 * threshold. The signature then holds b·r values (≤ the budget).
 *
 * Examples with the default budget: threshold 0.65 (the default) → 47 bands × 6 rows (P(0.65) =
 * 0.975, P(0.5) = 0.52); 0.7 → 40 bands × 7 rows (P(0.7) = 0.968,
 * P(0.5) = 0.27); 0.8 → 28 × 10; 0.9 → 17 × 16; 0.5 → 71 × 4. Marin's 26 × 11 has P(0.7) = 0.41
 * and P(0.75) = 0.67: the S-curve inflection rule (1/b)^(1/r) ≈ threshold places half of the pairs
 * at the threshold outside every bucket.
 */
import { MinHashConfigError } from "./errors.ts";

/** Probability that a pair at the threshold becomes a candidate, at least. */
export const CANDIDATE_PROBABILITY_AT_THRESHOLD = 0.95;
/** Default budget of signature values (Marin's 26 × 11). */
export const DEFAULT_PERMUTATION_BUDGET = 286;

/** P(candidate) of a pair with Jaccard `similarity` under b bands of r rows. */
export function candidateProbability(similarity: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(similarity, rows), bands);
}

export function checkThreshold(threshold: unknown, where: string): number {
  if (typeof threshold !== "number" || !(threshold > 0 && threshold <= 1)) {
    throw new MinHashConfigError(`${where}: threshold is ${JSON.stringify(threshold)}`, "set threshold to a Jaccard similarity in (0, 1], e.g. 0.7");
  }
  return threshold;
}

/** Bands and rows for `threshold` by the rule in the file header. */
export function chooseBanding(threshold: number, maxPermutations = DEFAULT_PERMUTATION_BUDGET): { bands: number; rows: number } {
  checkThreshold(threshold, "chooseBanding");
  if (!Number.isInteger(maxPermutations) || maxPermutations < 1 || maxPermutations > 65536) {
    throw new MinHashConfigError(`the permutation budget is ${maxPermutations}`, "give an integer number of signature values in [1, 65536] (default 286)");
  }
  let best = { bands: maxPermutations, rows: 1 };
  for (let rows = 1; rows <= maxPermutations; rows++) {
    const bands = Math.floor(maxPermutations / rows);
    if (candidateProbability(threshold, bands, rows) < CANDIDATE_PROBABILITY_AT_THRESHOLD) break;
    best = { bands, rows };
  }
  return best;
}
