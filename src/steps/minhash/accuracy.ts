/**
 * Accuracy harness for near-duplicate detection: turns real documents into a labelled set by
 * adding perturbed copies with known ground truth (word edits, a block insertion, truncation,
 * reordered paragraphs) plus hard negatives (the first half of one document followed by the rest of
 * another: real shared text, but not a near-duplicate — exact Jaccard ≈ 0.3), and scores a dedup result against that truth and against brute-force
 * exact Jaccard on a sample. `buildCopySet` makes the benchmark's simpler truth: every original plus
 * k copies with exactly p % of the words replaced.
 *
 * Scoring rule. Truth groups are an original plus its copies; a group of size g has g − 1
 * removable documents. A removed document is a true positive when its cluster's canonical document
 * is in the same truth group. precision = true positives / removed; recall = true positives /
 * removable. Document ids are seeded random hex, so which member is canonical is not biased.
 */
import { mix32 } from "./shingles.ts";
import { seededUint32 } from "./signature.ts";
import { jaccardOfSortedSets } from "./lsh.ts";
import type { DupClusterRecord } from "./components.ts";

export type PerturbationKind = "word-edits" | "insertion" | "truncation" | "reordered-paragraphs";
export const PERTURBATION_KINDS: readonly PerturbationKind[] = [
  "word-edits",
  "insertion",
  "truncation",
  "reordered-paragraphs",
];

export interface LabelledDocument {
  readonly id: string;
  readonly text: string;
  /** Truth group: the index of the source document it is (a copy of). */
  readonly group: number;
  /** How it was made: "original", a perturbation kind, or a hard negative (its own truth group). */
  readonly kind: "original" | "half-overlap" | "replaced-words" | PerturbationKind;
}

type Random = () => number;

function randomFloat(next: () => number): Random {
  return () => next() / 4294967296;
}

function splitParagraphs(text: string): string[][] {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.split(/\s+/).filter((w) => w.length > 0))
    .filter((words) => words.length > 0);
}

function joinParagraphs(paragraphs: string[][]): string {
  return paragraphs.map((words) => words.join(" ")).join("\n\n");
}

/**
 * A perturbed copy of `text`. `donor` supplies replacement / inserted words. Strengths are chosen so
 * copies stay near-duplicates (exact 5-shingle Jaccard mostly ≥ 0.8): 1–2 % of words replaced,
 * a block of 3–8 % of the length inserted, the last 5–12 % cut, or paragraphs shuffled.
 */
export function perturb(text: string, kind: PerturbationKind, donor: string, random: Random): string {
  const paragraphs = splitParagraphs(text);
  const donorWords = donor.split(/\s+/).filter((w) => w.length > 0);
  const pick = (): string => donorWords[Math.floor(random() * donorWords.length)] ?? "filler";
  const total = paragraphs.reduce((sum, words) => sum + words.length, 0);
  switch (kind) {
    case "word-edits": {
      const rate = 0.01 + random() * 0.01;
      return joinParagraphs(paragraphs.map((words) => words.map((w) => (random() < rate ? pick() : w))));
    }
    case "insertion": {
      const length = Math.max(1, Math.round(total * (0.03 + random() * 0.05)));
      const start = Math.floor(random() * Math.max(1, donorWords.length - length));
      const block = donorWords.slice(start, start + length);
      const target = paragraphs[Math.floor(random() * paragraphs.length)];
      target.splice(Math.floor(random() * (target.length + 1)), 0, ...block);
      return joinParagraphs(paragraphs);
    }
    case "truncation": {
      let keep = Math.max(1, Math.round(total * (1 - (0.05 + random() * 0.07))));
      const kept: string[][] = [];
      for (const words of paragraphs) {
        if (keep <= 0) break;
        kept.push(words.slice(0, keep));
        keep -= words.length;
      }
      return joinParagraphs(kept);
    }
    case "reordered-paragraphs": {
      for (let i = paragraphs.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [paragraphs[i], paragraphs[j]] = [paragraphs[j], paragraphs[i]];
      }
      return joinParagraphs(paragraphs);
    }
  }
}

/**
 * Builds the labelled set: every source text is an original; a `copyFraction` of them get one to
 * `maxCopies` perturbed copies, kinds cycling so each kind is represented; an `overlapFraction` of
 * them get a half-overlap hard negative (its own truth group). Deterministic by seed.
 */
export function buildLabelledSet(
  sources: readonly string[],
  options: { copyFraction?: number; maxCopies?: number; overlapFraction?: number; seed?: number } = {},
): LabelledDocument[] {
  const copyFraction = options.copyFraction ?? 0.3;
  const overlapFraction = options.overlapFraction ?? 0.1;
  const maxCopies = options.maxCopies ?? 2;
  const seed = options.seed ?? 7;
  const random = randomFloat(seededUint32(seed));
  const docs: LabelledDocument[] = [];
  const newId = idMaker(seed);
  let kindCursor = 0;
  let nextNegativeGroup = sources.length;
  sources.forEach((text, group) => {
    docs.push({ id: newId(), text, group, kind: "original" });
    if (random() < overlapFraction) {
      const words = text.split(/\s+/);
      const other = sources[(group + 1 + Math.floor(random() * (sources.length - 1))) % sources.length].split(/\s+/);
      const half = words.slice(0, Math.ceil(words.length / 2)).concat(other.slice(Math.ceil(other.length / 2)));
      docs.push({ id: newId(), text: half.join(" "), group: nextNegativeGroup++, kind: "half-overlap" });
    }
    if (random() >= copyFraction) return;
    const copies = 1 + Math.floor(random() * maxCopies);
    for (let c = 0; c < copies; c++) {
      const kind = PERTURBATION_KINDS[kindCursor++ % PERTURBATION_KINDS.length];
      const donor = sources[(group + 1 + Math.floor(random() * (sources.length - 1))) % sources.length];
      docs.push({ id: newId(), text: perturb(text, kind, donor, random), group, kind });
    }
  });
  return docs;
}

/** Seeded 16-hex-digit ids, unbiased with respect to which member of a group is canonical. */
function idMaker(seed: number): () => string {
  let serial = 0;
  return () => {
    serial++;
    return mix32(serial * 0x9e3779b1 + seed).toString(16).padStart(8, "0") + mix32(serial ^ 0x85ebca6b ^ seed).toString(16).padStart(8, "0");
  };
}

/**
 * A copy of `text` with exactly round(percent/100 · words) words (at least one) replaced, at distinct
 * positions drawn uniformly, each by a different word drawn by `pick`. White space is kept as is.
 */
export function replaceWords(text: string, percent: number, pick: () => string, random: Random): string {
  const tokens = text.split(/(\s+)/);
  const wordAt: number[] = [];
  tokens.forEach((t, i) => {
    if (t.length > 0 && !/^\s+$/.test(t)) wordAt.push(i);
  });
  const count = Math.min(wordAt.length, Math.max(1, Math.round((wordAt.length * percent) / 100)));
  for (let k = 0; k < count; k++) {
    const j = k + Math.floor(random() * (wordAt.length - k));
    [wordAt[k], wordAt[j]] = [wordAt[j], wordAt[k]];
    const at = wordAt[k];
    let word = pick();
    for (let tries = 0; word === tokens[at] && tries < 8; tries++) word = pick();
    tokens[at] = word;
  }
  return tokens.join("");
}

/**
 * The ground-truth set of the near-duplicate benchmark: every original, plus `copies` seeded copies
 * of each with `percent` % of its words replaced by words drawn from the whole corpus (a random word
 * of a random original). Truth group = the original's index. Deterministic by seed.
 */
export function buildCopySet(originals: readonly string[], options: { copies?: number; percent?: number; seed?: number } = {}): LabelledDocument[] {
  const copies = options.copies ?? 2;
  const percent = options.percent ?? 3;
  const seed = options.seed ?? 7;
  const random = randomFloat(seededUint32(seed));
  const wordsOf = originals.map((t) => t.split(/\s+/).filter((w) => w.length > 0));
  const pick = (): string => {
    const words = wordsOf[Math.floor(random() * wordsOf.length)];
    return words[Math.floor(random() * words.length)] ?? "filler";
  };
  const newId = idMaker(seed);
  const docs: LabelledDocument[] = [];
  originals.forEach((text, group) => {
    docs.push({ id: newId(), text, group, kind: "original" });
    for (let c = 0; c < copies; c++) docs.push({ id: newId(), text: replaceWords(text, percent, pick, random), group, kind: "replaced-words" });
  });
  return docs;
}

export interface DedupScore {
  readonly precision: number;
  readonly recall: number;
  readonly removed: number;
  readonly removable: number;
  readonly truePositives: number;
  /** Recall per perturbation kind: copies of that kind removed or kept as canonical correctly. */
  readonly recallByKind: Record<string, number>;
}

/** Scores cluster records against the truth groups of a labelled set (rule in the file header). */
export function scoreDedup(docs: readonly LabelledDocument[], records: readonly DupClusterRecord[]): DedupScore {
  const groupOf = new Map(docs.map((d) => [d.id, d.group]));
  const groupSize = new Map<number, number>();
  for (const d of docs) groupSize.set(d.group, (groupSize.get(d.group) ?? 0) + 1);
  let removable = 0;
  for (const size of groupSize.values()) removable += size - 1;
  let removed = 0;
  let truePositives = 0;
  const clusterOf = new Map<string, string>();
  for (const record of records) {
    clusterOf.set(record.id, record.attributes.dup_cluster_id);
    if (record.attributes.is_cluster_canonical) continue;
    removed++;
    if (groupOf.get(record.id) === groupOf.get(record.attributes.dup_cluster_id)) truePositives++;
  }
  // Per kind: a copy counts as found when it shares a cluster with its own original.
  const originalOf = new Map<number, string>();
  for (const d of docs) if (d.kind === "original") originalOf.set(d.group, d.id);
  const found: Record<string, number> = {};
  const totals: Record<string, number> = {};
  for (const d of docs) {
    if (d.kind === "original" || d.kind === "half-overlap") continue;
    totals[d.kind] = (totals[d.kind] ?? 0) + 1;
    const cluster = clusterOf.get(d.id);
    if (cluster !== undefined && cluster === clusterOf.get(originalOf.get(d.group)!)) found[d.kind] = (found[d.kind] ?? 0) + 1;
  }
  const recallByKind: Record<string, number> = {};
  for (const kind of Object.keys(totals)) recallByKind[kind] = (found[kind] ?? 0) / totals[kind];
  return {
    precision: removed === 0 ? 1 : truePositives / removed,
    recall: removable === 0 ? 1 : truePositives / removable,
    removed,
    removable,
    truePositives,
    recallByKind,
  };
}

export interface ExactPairAgreement {
  /** Pairs in the sample whose exact Jaccard is ≥ the threshold. */
  readonly exactPairs: number;
  /** Of those, the fraction that ended up in the same cluster. */
  readonly recallOfExactPairs: number;
  /** Same-cluster pairs in the sample. */
  readonly clusteredPairs: number;
  /** Of those, the fraction whose exact Jaccard is ≥ `precisionThreshold`. */
  readonly precisionOfClusteredPairs: number;
}

/**
 * Brute force over all pairs of a sample: exact Jaccard of shingle sets vs the clustering.
 * `shingles` maps id → sorted distinct shingle hashes.
 */
export function exactPairAgreement(
  sampleIds: readonly string[],
  shingles: ReadonlyMap<string, Uint32Array>,
  records: readonly DupClusterRecord[],
  threshold = 0.8,
  precisionThreshold = 0.5,
): ExactPairAgreement {
  const clusterOf = new Map(records.map((r) => [r.id, r.attributes.dup_cluster_id]));
  let exactPairs = 0;
  let exactClustered = 0;
  let clusteredPairs = 0;
  let clusteredSimilar = 0;
  for (let i = 0; i < sampleIds.length; i++) {
    const a = shingles.get(sampleIds[i])!;
    const clusterA = clusterOf.get(sampleIds[i]);
    for (let j = i + 1; j < sampleIds.length; j++) {
      const similarity = jaccardOfSortedSets(a, shingles.get(sampleIds[j])!);
      const together = clusterA !== undefined && clusterA === clusterOf.get(sampleIds[j]);
      if (similarity >= threshold) {
        exactPairs++;
        if (together) exactClustered++;
      }
      if (together) {
        clusteredPairs++;
        if (similarity >= precisionThreshold) clusteredSimilar++;
      }
    }
  }
  return {
    exactPairs,
    recallOfExactPairs: exactPairs === 0 ? 1 : exactClustered / exactPairs,
    clusteredPairs,
    precisionOfClusteredPairs: clusteredPairs === 0 ? 1 : clusteredSimilar / clusteredPairs,
  };
}
