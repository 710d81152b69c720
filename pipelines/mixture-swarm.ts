/**
 * The mixture swarm on the embedded sources: download → normalize (exact dedup) per source → a
 * small byte-level BPE vocabulary trained on a sample of all of them → tokenize per source → the
 * swarm of small proxy runs over mixture weights → the fitted mixing law, the proposed mixture and
 * its verification against proportional and high-quality mixing → mixture.json. `npm run swarm`
 * runs it; it prints the fit quality, the proposed weights with their intervals and the
 * verification table. KILN_SWARM_PROFILE=micro runs a tiny version of every stage (three small
 * sources, a few short proxies, the signal gate off) for tests.
 */
import { downloadStep, formatTable, mixtureSwarm, normalizeStep, pipeline, tokenizeStep, trainTokenizerStep, type MixtureSwarmOptions, type MixtureSwarmSummary, type PipelineRun, type TrainHyperparameters } from "kiln";

interface Profile {
  sources: string[];
  highQuality: string[];
  vocabSize: number;
  tokenizerBytes: number;
  hyperparameters: TrainHyperparameters;
  swarm: Omit<MixtureSwarmOptions, "name" | "data" | "highQuality" | "proxy">;
  evalTokens: number;
}

/** Five embedded sources; proxies of about 0.6M tokens each. */
const FULL: Profile = {
  sources: ["brown-fiction", "brown-learned", "js-ts-code", "nlp-corpus", "spam-assassin-ham"],
  highQuality: ["brown-fiction", "brown-learned"],
  vocabSize: 2048,
  tokenizerBytes: 4_000_000,
  hyperparameters: {
    seq_len: 128,
    model: { d_model: 64, n_layers: 2, n_heads: 4, ffn: "dense", d_ff: 256 },
    optimizer: { lr: 0.004 },
    schedule: { kind: "cosine", warmup_steps: 20 },
    train: { steps: 300, batch_size: 16, checkpoint_every: 100 },
  },
  // The run the mixture is for: 1.5M tokens, so the small Brown sources may take a real share (up to four
  // epochs: brown-learned up to ~8 %, brown-fiction ~20 %) and each proxy sees enough of their distinct
  // text for their weight to show in bits per byte; 36 sampled runs instead of the default 30.
  swarm: { targetTokens: 1_500_000, swarmSize: 36 },
  evalTokens: 8192,
};

/** Every stage on three small sources in a couple of minutes; the gate is off because such short proxies carry little signal. */
const MICRO: Profile = {
  sources: ["brown-learned", "brown-press", "js-ts-code"],
  highQuality: ["brown-learned", "brown-press"],
  vocabSize: 384,
  tokenizerBytes: 400_000,
  hyperparameters: {
    seq_len: 32,
    model: { d_model: 16, n_layers: 1, n_heads: 2, ffn: "dense", d_ff: 32 },
    optimizer: { lr: 0.01 },
    schedule: { kind: "cosine", warmup_steps: 2 },
    train: { steps: 12, batch_size: 4, checkpoint_every: 4 },
  },
  swarm: { swarmSize: 6, gate: -1, bootstrap: { resamples: 40 }, candidates: { count: 2000, top: 10 } },
  evalTokens: 512,
};

const profileName = process.env.KILN_SWARM_PROFILE ?? "full";
const profile = profileName === "micro" ? MICRO : FULL;

const download = downloadStep({ name: "download/embedded", sources: profile.sources });
const normalized = Object.fromEntries(profile.sources.map((s) => [s, normalizeStep({ name: `normalized/${s}`, input: download, sources: [s], dedup: "exact" })]));
// Parts of a normalized folder are hash-partitioned by document id, so the first bytes of them are a sample of every source.
const sample = normalizeStep({ name: "normalized/tokenizer-sample", input: download, dedup: "exact", targetPartitionBytes: 1 << 20 });
const tokenizer = trainTokenizerStep({ name: `tokenizer/bpe-${profile.vocabSize}`, input: sample.output("outputs/main"), vocabSize: profile.vocabSize, maxBytes: profile.tokenizerBytes });
const tokenized = Object.fromEntries(
  profile.sources.map((s) => [
    s,
    tokenizeStep({ name: `tokenized/${s}`, input: normalized[s].output("outputs/main"), tokenizer, validationFraction: 0.05, minValidationDocuments: 40 }),
  ]),
);

export const swarm = mixtureSwarm({
  name: "swarm",
  data: tokenized,
  highQuality: profile.highQuality,
  proxy: { hyperparameters: profile.hyperparameters, evalTokens: profile.evalTokens },
  ...profile.swarm,
});

const f4 = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(4));

function printSummary(s: MixtureSwarmSummary): void {
  console.log(`\nmixture swarm (${profileName} profile): ${s.proxies.length} proxy runs, objective ${s.objective} (lower is better)\n`);
  console.log(
    formatTable(
      ["fit runs", "out-of-fold Spearman ρ", "gate", "regret@1", "seed noise (sd)"],
      [[String(s.fit.runs), f4(s.fit.outOfFoldSpearman), String(s.fit.gate), f4(s.fit.regretAt1), f4(s.fit.seedNoise)]],
    ),
  );
  const intervals = s.proposed.intervals;
  console.log("\nproposed mixture (90% bootstrap intervals)\n");
  console.log(
    formatTable(
      ["source", "weight", "interval low", "interval high", "proportional", "high-quality"],
      s.sources.map((src) => {
        const prop = s.proxies.find((p) => p.name === "proportional-s0")?.weights[src];
        const hq = s.proxies.find((p) => p.name === "high-quality-s0")?.weights[src];
        return [src, f4(s.proposed.weights[src]), f4(intervals?.[src]?.[0]), f4(intervals?.[src]?.[1]), f4(prop), f4(hq)];
      }),
    ),
  );
  console.log(`\npredicted ${s.objective}: ${f4(s.proposed.predicted)} (interval ${f4(s.proposed.predictedInterval?.[0])} – ${f4(s.proposed.predictedInterval?.[1])})\n`);
  const v = s.verification;
  const rows = Object.entries(v.measured).map(([name, values]) => {
    const gain = v.gains.find((g) => g.baseline === name);
    return [name, ...values.map(f4), f4(values.reduce((a, b) => a + b, 0) / values.length), gain ? `${f4(gain.mean)} ± ${f4(gain.standardError)}` : "", gain ? (gain.beats ? "yes" : "no") : ""];
  });
  console.log(formatTable(["mixture", ...v.seeds.map((x) => `seed ${x}`), "mean", "gain of proposal ± SE", "beaten by > 2 SE"], rows));
  console.log(`\n${s.status}: ${s.reason}`);
}

export default pipeline({
  name: "mixture-swarm",
  steps: [swarm.summary],
  report: (run: PipelineRun) => {
    const summary = run.resultOf(swarm.summary);
    if (!summary) {
      console.log("\nmixture swarm: the summary step did not finish; see the errors above");
      return;
    }
    printSummary(summary);
    const outcome = run.outcomeOf(swarm.summary);
    if (outcome) console.log(`mixture file: ${outcome.outputPath}/${summary.mixtureFile}`);
  },
});
