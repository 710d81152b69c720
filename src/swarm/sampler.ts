/**
 * Drawing mixtures for the swarm: Dirichlet(s · k · p) around the natural share, where p is q^τ
 * renormalised (τ < 1 flattens it towards uniform, so small sources are explored too), k the
 * number of sources and s a concentration per source drawn log-uniformly from a range (small s:
 * mixtures far from p, large s: close to it). Draws outside the feasible set are rejected, and so
 * are near-duplicates (total variation below `minDistance` from a mixture already kept or from an
 * anchor). The same options and seed give the same swarm.
 */
import { SwarmSamplingError } from "./errors.ts";
import { isFeasible, totalVariation, type FeasibleSet } from "./feasible.ts";
import { Random } from "./random.ts";

export interface MixtureDistribution {
  /** Natural share per source (sums to 1), in the feasible set's source order. */
  q: number[];
  /** τ: the exponent applied to q before renormalising (default 0.5). */
  temperature: number;
  /** [lo, hi] of the log-uniform concentration per source s (default [0.1, 5]). */
  concentration: [number, number];
}

export interface SwarmSamplerOptions extends MixtureDistribution {
  set: FeasibleSet;
  size: number;
  /** Mixtures closer than this in total variation to one already kept (or an anchor) are dropped. */
  minDistance: number;
  seed: number;
  /** Mixtures the swarm must not duplicate (the anchors). */
  avoid?: number[][];
  /** Give up after this many draws (default 200,000 + 2,000 per mixture). */
  maxDraws?: number;
}

export interface SwarmSample {
  mixtures: number[][];
  /** The concentration s each kept mixture was drawn with. */
  concentrations: number[];
  draws: number;
  rejected: { infeasible: number; duplicate: number };
}

/** The Dirichlet centre: q^τ renormalised. */
export function tempered(q: readonly number[], temperature: number): number[] {
  const p = q.map((x) => Math.pow(x, temperature));
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / total);
}

/** One draw: a concentration s and a mixture from Dirichlet(s · k · p). */
export function drawMixture(rng: Random, centre: readonly number[], range: [number, number]): { s: number; w: number[] } {
  const s = rng.logUniform(range[0], range[1]);
  const k = centre.length;
  return { s, w: rng.dirichlet(centre.map((p) => s * k * p)) };
}

export function sampleSwarm(opts: SwarmSamplerOptions): SwarmSample {
  const rng = new Random(opts.seed, 1);
  const centre = tempered(opts.q, opts.temperature);
  const maxDraws = opts.maxDraws ?? 200_000 + 2_000 * opts.size;
  const kept: number[][] = [];
  const concentrations: number[] = [];
  const avoid = opts.avoid ?? [];
  const rejected = { infeasible: 0, duplicate: 0 };
  let draws = 0;
  while (kept.length < opts.size) {
    if (draws >= maxDraws) {
      throw new SwarmSamplingError(
        `kept ${kept.length} of ${opts.size} swarm mixtures after ${draws} draws (${rejected.infeasible} infeasible, ${rejected.duplicate} near-duplicates)`,
        "lower minWeight or minDistance, raise maxEpochs, or ask for a smaller swarm",
      );
    }
    draws++;
    const { s, w } = drawMixture(rng, centre, opts.concentration);
    if (!isFeasible(w, opts.set)) {
      rejected.infeasible++;
      continue;
    }
    if ([...avoid, ...kept].some((other) => totalVariation(w, other) < opts.minDistance)) {
      rejected.duplicate++;
      continue;
    }
    kept.push(w);
    concentrations.push(s);
  }
  return { mixtures: kept, concentrations, draws, rejected };
}

/** `count` feasible mixtures from the same distribution (duplicates allowed), for the proposer's cross-check. */
export function feasibleCandidates(dist: MixtureDistribution, set: FeasibleSet, count: number, seed: number): number[][] {
  const rng = new Random(seed, 2);
  const centre = tempered(dist.q, dist.temperature);
  const out: number[][] = [];
  for (let draws = 0; out.length < count && draws < 100 * count + 100_000; draws++) {
    const { w } = drawMixture(rng, centre, dist.concentration);
    if (isFeasible(w, set)) out.push(w);
  }
  return out;
}
