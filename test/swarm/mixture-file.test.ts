/**
 * From plan to mixture.json without training: a real plan from an inventory, eval results made
 * from known laws (or pure noise), the fit step's and the summary step's computations. The same
 * seed gives the same bytes whatever order the results arrive in; another seed changes the swarm
 * and its hash; caps and the minimum weight hold in every sampled and proposed mixture; noise
 * yields "insufficient-signal" with skipped proposal runs and no weights.
 */
import { describe, expect, it } from "vitest";
import type { EvalResult } from "../../src/steps/train/train-step.ts";
import { fitResult, type FitStepOptions } from "../../src/swarm/fit-step.ts";
import { isFeasible } from "../../src/swarm/feasible.ts";
import { inventoryOf } from "../../src/swarm/inventory.ts";
import { planFeasibleSet, planIds, planSwarm, PROPOSAL_ID, type SwarmPlan, type SwarmSettings } from "../../src/swarm/plan.ts";
import type { ProxyEvalResult } from "../../src/swarm/proxies.ts";
import { summaryResult } from "../../src/swarm/summary-step.ts";
import { predictLaw } from "../../src/swarm/law.ts";
import { Random } from "../../src/swarm/random.ts";
import type { TokenizedResult } from "../../src/steps/tokenize/result.ts";
import { sourceLaws } from "./synthetic.ts";

const SOURCES = ["code", "fiction", "learned", "web"];
const TRAIN = [40_000, 60_000, 15_000, 120_000];

function tokenized(train: number): TokenizedResult {
  return {
    tokenizer: { name: "bpe-test", vocabSize: 512, eosId: 0 },
    splits: { train: { shards: ["train/part-00000.bin"], tokens: train, documents: 10, bytes: train * 3 }, validation: { shards: ["validation/part-00000.bin"], tokens: 900, documents: 4, bytes: 2700 } },
  };
}

const settings = (seed: number): SwarmSettings => ({
  size: 24,
  temperature: 0.5,
  concentration: [0.1, 5],
  minDistance: 0.02,
  minWeight: 0.02,
  maxEpochs: 4,
  targetTokens: 235_000,
  highQuality: ["fiction", "learned"],
  seed,
  seeds: 3,
  proxyTokens: 23_500,
  seqLen: 32,
});
const fitOptions = (seed: number): FitStepOptions => ({
  targets: Object.fromEntries(SOURCES.map((s) => [s, 1])),
  seeds: 3,
  temperature: 0.5,
  concentration: [0.1, 5],
  starts: 4,
  folds: 5,
  gate: 0.8,
  lambda: 0.05,
  alternativeLambdas: [0.01, 0.1],
  candidates: 2000,
  top: 20,
  resamples: 30,
  level: 0.9,
  seed,
});

/** Eval results from per-source laws (with seed-dependent noise), or from noise alone. */
function evalsFor(plan: SwarmPlan, ids: string[], noiseOnly: boolean): Record<string, ProxyEvalResult> {
  const laws = sourceLaws(SOURCES.length);
  const out: Record<string, EvalResult> = {};
  ids.forEach((id) => {
    const mixture = plan.mixtures[id] ?? { weights: plan.mixtures["proportional-s0"].weights, seed: Number(id.slice(-1)) };
    const rng = new Random(mixture.seed, ...[...id].map((ch) => ch.charCodeAt(0)));
    const w = SOURCES.map((s) => mixture.weights[s]);
    const bpb = laws.map((law) => (noiseOnly ? 2 : predictLaw(law, w)) + 0.01 * rng.normal());
    out[id] = { macroBpb: bpb.reduce((a, b) => a + b, 0) / bpb.length, sources: Object.fromEntries(SOURCES.map((s, j) => [s, { bpb: bpb[j], tokens: 900, bytes: 2700 }])) };
  });
  return out;
}

function run(seed: number, opts: { reverse?: boolean; noise?: boolean } = {}) {
  const order = opts.reverse ? [...SOURCES].reverse() : SOURCES;
  const inventory = inventoryOf(Object.fromEntries(order.map((s) => [s, tokenized(TRAIN[SOURCES.indexOf(s)])])), "data-version-1");
  const plan = planSwarm(inventory, settings(seed), { seq_len: 32 });
  const ids = Object.keys(plan.mixtures);
  const evals = evalsFor(plan, opts.reverse ? [...ids].reverse() : ids, opts.noise ?? false);
  const fit = fitResult(plan, inventory, evals, fitOptions(seed));
  // The proposal's verification runs: proportional's laws, the proposal's weights.
  for (let i = 0; i < 3; i++) {
    const entry = fit.mixtures[PROPOSAL_ID(i)];
    if ("weights" in entry) evals[PROPOSAL_ID(i)] = evalsFor({ ...plan, mixtures: { [PROPOSAL_ID(i)]: entry } }, [PROPOSAL_ID(i)], false)[PROPOSAL_ID(i)];
    else evals[PROPOSAL_ID(i)] = entry;
  }
  return { inventory, plan, fit, ...summaryResult(inventory, plan, fit, evals, 3) };
}

describe("mixture.json", () => {
  it("the same seed gives the same bytes, whatever order sources and results come in", () => {
    const a = run(1);
    const b = run(1, { reverse: true });
    expect(b.text).toBe(a.text);
    const doc = JSON.parse(a.text);
    expect(doc.sources.map((s: { name: string }) => s.name)).toEqual(SOURCES);
    expect(doc.swarm.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.fit.metrics).toHaveLength(4);
    expect(doc.verification.seeds).toEqual([1, 2, 3]);
    const c = run(2);
    expect(c.plan.configHash).not.toBe(a.plan.configHash);
    expect(c.text).not.toBe(a.text);
  });

  it("keeps the caps and the minimum weight in every sampled and proposed mixture", () => {
    const { plan, inventory, fit, result } = run(1);
    const set = planFeasibleSet(plan, inventory.available);
    const vector = (w: Record<string, number>) => SOURCES.map((s) => w[s]);
    const sampled = Object.values(plan.mixtures).filter((m) => m.role === "swarm");
    expect(sampled).toHaveLength(24);
    for (const m of sampled) {
      expect(isFeasible(vector(m.weights), set)).toBe(true);
      expect(m.withinCaps).toBe(true);
      for (const s of SOURCES) expect(m.epochs[s]).toBeLessThanOrEqual(4 + 1e-6);
    }
    expect(fit.status).toBe("proposed");
    const proposals = [fit.proposal!, ...fit.alternatives];
    for (const p of proposals) {
      expect(isFeasible(vector(p.weights), set)).toBe(true);
      for (const s of SOURCES) {
        expect(p.weights[s]).toBeGreaterThanOrEqual(0.02 - 1e-6);
        expect(p.weights[s] * 235_000).toBeLessThanOrEqual(4 * TRAIN[SOURCES.indexOf(s)] * (1 + 1e-6));
      }
    }
    // The proxies see each source scaled down by 23,500 / 235,000, so they repeat it as the target run would.
    expect(plan.feasible.proxyMaxTokens.learned).toBe(1500);
    expect(result.kind).toBe("kiln.mixture-swarm");
    expect(result.proxies.filter((p) => p.name.startsWith("proposal-"))).toHaveLength(3);
    expect(result.verification.gains.map((g) => g.baseline)).toEqual(["proportional", "high-quality"]);
    expect(["accepted", "not-accepted"]).toContain(result.status);
  });

  it("trains no mixture twice: a leave-one-out row equal to the high-quality subset is left out", () => {
    const inventory = inventoryOf(Object.fromEntries(SOURCES.map((s, j) => [s, tokenized(TRAIN[j])])), "data-version-1");
    for (const highQuality of [["fiction", "learned"], ["fiction", "learned", "web"]]) {
      const s = { ...settings(1), highQuality };
      const plan = planSwarm(inventory, s, { seq_len: 32 });
      const ids = planIds(SOURCES, highQuality, s.size, s.seeds);
      expect(Object.keys(plan.mixtures).sort()).toEqual([...ids.fit, ...ids.replicates].sort());
      const keys = Object.values(plan.mixtures).map((m) => `${m.seed}:${SOURCES.map((x) => m.weights[x].toFixed(9)).join(",")}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(planIds(SOURCES, ["fiction", "learned", "web"], 24, 3).fit).not.toContain("without-code");
    expect(planIds(SOURCES, ["fiction", "learned"], 24, 3).fit).toContain("without-code");
  });

  it("noise gives insufficient signal: skipped proposal runs, no weights, not accepted", () => {
    const { fit, result, text } = run(1, { noise: true });
    expect(fit.status).toBe("insufficient-signal");
    expect(fit.mixtures[PROPOSAL_ID(0)]).toEqual({ skipped: fit.reason });
    expect(result.status).toBe("insufficient-signal");
    expect(result.proposed.weights).toEqual({});
    const doc = JSON.parse(text);
    expect(doc.accepted).toBe(false);
    expect(doc.sources.every((s: { weight: number | null }) => s.weight === null)).toBe(true);
    expect(doc.verification.proposal).toBeNull();
    expect(doc.verification.gains).toEqual([]);
    expect(doc.baselines.map((b: { measured: number[] }) => b.measured.length)).toEqual([3, 3]);
  });
});
