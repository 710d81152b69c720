/**
 * Verification arithmetic: the proposal and each baseline are trained with the same seeds, so the
 * gain is paired by seed (baseline minus proposal; positive when the proposal's objective is
 * lower, i.e. better). Its standard error is the sample standard deviation of the paired gains over
 * √seeds. The proposal is accepted only when it beats every baseline by more than `z` standard errors.
 */
import { mean, standardDeviation } from "./stats.ts";

export interface PairedGain {
  baseline: string;
  seeds: number[];
  /** Per seed: baseline − proposal. */
  gains: number[];
  mean: number;
  standardError: number;
  /** mean > z · standardError (and mean > 0). */
  beats: boolean;
}

export function pairedGain(baseline: string, seeds: number[], baselineValues: number[], proposalValues: number[], z = 2): PairedGain {
  if (baselineValues.length !== seeds.length || proposalValues.length !== seeds.length) {
    throw new Error(`paired gain over ${seeds.length} seeds needs that many values on both sides`);
  }
  const gains = seeds.map((_, i) => baselineValues[i] - proposalValues[i]);
  const m = mean(gains);
  const standardError = standardDeviation(gains) / Math.sqrt(gains.length);
  return { baseline, seeds, gains, mean: m, standardError, beats: m > 0 && m > z * standardError };
}

export function accepted(gains: readonly PairedGain[]): boolean {
  return gains.length > 0 && gains.every((g) => g.beats);
}
