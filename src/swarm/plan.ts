/**
 * The swarm plan: from the inventory (tokens per source) and the swarm's settings, the feasible
 * set, the sampled swarm, the anchors (proportional with several seeds to measure noise, uniform,
 * the high-quality subset, one leave-one-source-out mixture per source unless it is the high-quality
 * mixture) and the extra seeds of the
 * high-quality baseline for verification; for each, its weights, per-source token caps for the
 * proxy (so it sees the target run's repetition), simulated epochs at the target scale, and its
 * seed. Proxy ids are a function of the sources and sizes only, so the builder knows every proxy
 * step before anything has run. The hash covers every proxy's config and the data version.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../graph/canonical-json.ts";
import { SwarmConfigError } from "./errors.ts";
import { epochsAt, feasibleSet, isFeasible, proxyTokenCaps, type FeasibleSet } from "./feasible.ts";
import { sampleSwarm } from "./sampler.ts";
import type { SwarmInventory } from "./inventory.ts";

export type ProxyRole = "swarm" | "anchor" | "replicate";

export interface ProxyMixture {
  /** swarm and anchor runs enter the fit; replicates (other seeds) measure noise and verify. */
  role: ProxyRole;
  seed: number;
  weights: Record<string, number>;
  /** Tokens of each source the proxy may use (its repetition matches the target run's). */
  maxTokens: Record<string, number>;
  /** Epochs of each source's available tokens a target run at these weights goes through. */
  epochs: Record<string, number>;
  /** Whether the mixture is inside the feasible set (anchors need not be). */
  withinCaps: boolean;
}

export interface SwarmSettings {
  size: number;
  temperature: number;
  concentration: [number, number];
  minDistance: number;
  minWeight: number;
  maxEpochs: number;
  /** Tokens of the run the mixture is for; null: the proxies' own budget. */
  targetTokens: number | null;
  highQuality: string[];
  seed: number;
  /** Seeds per baseline and for the proposal's verification (at least 3). */
  seeds: number;
  proxyTokens: number;
  seqLen: number;
}

export interface SwarmPlan {
  sources: string[];
  naturalShare: Record<string, number>;
  feasible: {
    targetTokens: number;
    maxEpochs: number;
    minWeight: number;
    caps: Record<string, number>;
    proxyTokens: number;
    proxyMaxTokens: Record<string, number>;
  };
  sampling: { size: number; draws: number; rejectedInfeasible: number; rejectedDuplicate: number; concentrations: number[] };
  mixtures: Record<string, ProxyMixture>;
  /** sha256 of the canonical JSON of every proxy's config, the proxy hyperparameters and the data version. */
  configHash: string;
  dataVersion: string;
}

export const SWARM_ID = (i: number) => `swarm-${String(i).padStart(3, "0")}`;
export const PROPORTIONAL_ID = (seedIndex: number) => `proportional-s${seedIndex}`;
export const HIGH_QUALITY_ID = (seedIndex: number) => `high-quality-s${seedIndex}`;
export const UNIFORM_ID = "uniform";
export const LEAVE_OUT_ID = (source: string) => `without-${source}`;
export const PROPOSAL_ID = (seedIndex: number) => `proposal-s${seedIndex}`;

/**
 * The sources whose leave-one-out row is its own mixture: all but the one whose leave-one-out mixture
 * is the high-quality subset's (the natural shares renormalised over the same sources), which would
 * train the same proxy twice.
 */
export function leaveOutSources(sources: string[], highQuality: string[]): string[] {
  const excluded = sources.filter((s) => !highQuality.includes(s));
  return excluded.length === 1 ? sources.filter((s) => s !== excluded[0]) : sources;
}

/** Every proxy id the plan will hold, fit set first; known before anything runs. */
export function planIds(sources: string[], highQuality: string[], size: number, seeds: number): { fit: string[]; replicates: string[] } {
  const swarm = Array.from({ length: size }, (_, i) => SWARM_ID(i));
  const anchors = [PROPORTIONAL_ID(0), UNIFORM_ID, HIGH_QUALITY_ID(0), ...leaveOutSources(sources, highQuality).map(LEAVE_OUT_ID)];
  const replicates = Array.from({ length: seeds - 1 }, (_, i) => [PROPORTIONAL_ID(i + 1), HIGH_QUALITY_ID(i + 1)]).flat();
  return { fit: [...swarm, ...anchors], replicates };
}

const byName = (sources: string[], values: readonly number[]) => Object.fromEntries(sources.map((s, j) => [s, values[j]]));

/** Anchor and replicate mixtures in source order (before caps and epochs). */
export function anchorMixtures(sources: string[], q: number[], highQuality: string[], seeds: number): Array<{ id: string; role: ProxyRole; seedIndex: number; w: number[] }> {
  const restricted = (keep: (s: string) => boolean) => {
    const w = q.map((x, j) => (keep(sources[j]) ? x : 0));
    const total = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / total);
  };
  const hq = restricted((s) => highQuality.includes(s));
  const out: Array<{ id: string; role: ProxyRole; seedIndex: number; w: number[] }> = [
    { id: PROPORTIONAL_ID(0), role: "anchor", seedIndex: 0, w: [...q] },
    { id: UNIFORM_ID, role: "anchor", seedIndex: 0, w: sources.map(() => 1 / sources.length) },
    { id: HIGH_QUALITY_ID(0), role: "anchor", seedIndex: 0, w: hq },
    ...leaveOutSources(sources, highQuality).map((s) => ({ id: LEAVE_OUT_ID(s), role: "anchor" as const, seedIndex: 0, w: restricted((x) => x !== s) })),
  ];
  for (let i = 1; i < seeds; i++) {
    out.push({ id: PROPORTIONAL_ID(i), role: "replicate", seedIndex: i, w: [...q] });
    out.push({ id: HIGH_QUALITY_ID(i), role: "replicate", seedIndex: i, w: hq });
  }
  return out;
}

export function checkSettings(sources: string[], s: SwarmSettings): void {
  const fail = (what: string, hint: string) => {
    throw new SwarmConfigError(what, hint);
  };
  if (sources.length < 2) fail(`a mixture needs at least 2 sources, got ${sources.length}`, "give the swarm two or more tokenized sources");
  const unknown = s.highQuality.filter((h) => !sources.includes(h));
  if (unknown.length) fail(`high-quality source(s) ${unknown.join(", ")} are not among the sources (${sources.join(", ")})`, "name sources of `data` in highQuality");
  if (!s.highQuality.length) fail("the high-quality subset is empty", "name the sources you would pick by hand in highQuality");
  if (!(s.size >= 1 && Number.isInteger(s.size))) fail(`swarm size ${s.size} is not a positive integer`, "set swarmSize to a positive integer");
  if (!(s.seeds >= 3 && Number.isInteger(s.seeds))) fail(`${s.seeds} verification seeds: at least 3 are needed for a standard error`, "set seeds to 3 or more");
  const [lo, hi] = s.concentration;
  if (!(lo > 0 && hi >= lo)) fail(`concentration range [${lo}, ${hi}] is not 0 < lo ≤ hi`, "use a range such as [0.1, 5]");
  if (!(s.temperature >= 0)) fail(`temperature ${s.temperature} is negative`, "use τ in [0, 1] (0.5 by default)");
  if (!(s.minWeight >= 0 && s.maxEpochs > 0)) fail(`minWeight ${s.minWeight} / maxEpochs ${s.maxEpochs} out of range`, "use minWeight ≥ 0 and maxEpochs > 0");
}

function mixtureEntry(w: number[], role: ProxyRole, seed: number, set: FeasibleSet, proxyMaxTokens: number[]): ProxyMixture {
  const { sources } = set;
  return {
    role,
    seed,
    weights: byName(sources, w),
    maxTokens: byName(sources, proxyMaxTokens),
    epochs: byName(sources, epochsAt(w, set.available, set.targetTokens)),
    withinCaps: isFeasible(w, set),
  };
}

export function planSwarm(inventory: SwarmInventory, s: SwarmSettings, hyperparameters: unknown): SwarmPlan {
  const sources = inventory.sources;
  checkSettings(sources, s);
  const available = sources.map((x) => inventory.available[x]);
  const q = sources.map((x) => inventory.naturalShare[x]);
  const set = feasibleSet(sources, available, s.targetTokens ?? s.proxyTokens, s.maxEpochs, s.minWeight);
  const tooSmall = sources.filter((_, j) => available[j] < s.seqLen + 1);
  if (tooSmall.length) {
    throw new SwarmConfigError(`source(s) ${tooSmall.join(", ")} have fewer train tokens than one sequence (${s.seqLen + 1})`, "add data or lower the proxies' seq_len");
  }
  const proxyMaxTokens = proxyTokenCaps(set, s.proxyTokens, 8 * (s.seqLen + 1));
  const anchors = anchorMixtures(sources, q, s.highQuality, s.seeds);
  const swarm = sampleSwarm({ q, temperature: s.temperature, concentration: s.concentration, set, size: s.size, minDistance: s.minDistance, seed: s.seed, avoid: anchors.map((a) => a.w) });
  const mixtures: Record<string, ProxyMixture> = {};
  swarm.mixtures.forEach((w, i) => (mixtures[SWARM_ID(i)] = mixtureEntry(w, "swarm", s.seed, set, proxyMaxTokens)));
  for (const a of anchors) mixtures[a.id] = mixtureEntry(a.w, a.role, s.seed + a.seedIndex, set, proxyMaxTokens);
  const configHash = createHash("sha256").update(canonicalJson({ mixtures, hyperparameters, dataVersion: inventory.dataVersion })).digest("hex");
  return {
    sources,
    naturalShare: byName(sources, q),
    feasible: { targetTokens: set.targetTokens, maxEpochs: s.maxEpochs, minWeight: s.minWeight, caps: byName(sources, set.caps), proxyTokens: s.proxyTokens, proxyMaxTokens: byName(sources, proxyMaxTokens) },
    sampling: { size: s.size, draws: swarm.draws, rejectedInfeasible: swarm.rejected.infeasible, rejectedDuplicate: swarm.rejected.duplicate, concentrations: swarm.concentrations },
    mixtures,
    configHash,
    dataVersion: inventory.dataVersion,
  };
}

/** The feasible set the plan was drawn in, rebuilt from its result (for the fit step). */
export function planFeasibleSet(plan: SwarmPlan, available: Record<string, number>): FeasibleSet {
  const f = plan.feasible;
  return feasibleSet(plan.sources, plan.sources.map((s) => available[s]), f.targetTokens, f.maxEpochs, f.minWeight);
}
