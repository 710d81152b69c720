/**
 * Public API of the MinHash near-duplicate library: shingling, signatures, LSH band keys and star
 * edges, connected components (union-find reference and shard-friendly label propagation), cluster
 * attributes, the in-memory reference pipeline and the accuracy harness; and the dedup step that
 * runs the same parts through the shuffle over normalized sources.
 */
export { MinHashConfigError, MinHashInputError } from "./errors.ts";
export { Shingler, tokenizeWords, hashWord, prepareText, resolveNormalization, DEFAULT_NORMALIZATION, type ShingleNormalization, type ResolvedNormalization } from "./shingles.ts";
export { chooseBanding, candidateProbability, CANDIDATE_PROBABILITY_AT_THRESHOLD, DEFAULT_PERMUTATION_BUDGET } from "./banding.ts";
export { resolveSettings, DEFAULT_THRESHOLD, DEFAULT_COMPARISONS_PER_MEMBER, type NearDuplicateSettings, type ResolvedSettings, type Verification } from "./settings.ts";
export {
  MinHasher,
  MARIN_PARAMS,
  DATATROVE_PARAMS,
  MERSENNE_PRIME,
  EMPTY_SLOT,
  validateMinHashParams,
  estimateJaccard,
  type MinHashParams,
  type SignatureHasher,
} from "./signature.ts";
export { DensifiedMinHasher, createSignatureHasher, DEFAULT_SCHEME, MINHASH_SCHEMES, type MinHashScheme } from "./one-permutation.ts";
export { bandKeys, starEdges, candidateEdges, candidatePairs, bucketPairs, jaccardOfSortedSets, isEmptySignature, type Edge } from "./lsh.ts";
export {
  componentsByUnionFind,
  adjacencyMessages,
  initialNodeState,
  labelMessages,
  applyLabelMessages,
  runShardedLabelPropagation,
  clusterAttributes,
  type DupClusterRecord,
  type NodeState,
  type LabelMessage,
  type AdjacencyMessage,
  type LabelPropagationResult,
} from "./components.ts";
export { findNearDuplicates, type NearDuplicateOptions, type NearDuplicateResult } from "./dedup.ts";
export { exactSimilarPairs, exactComponents, exactRemovals, removalsOutsideExactComponents, type SimilarPair } from "./exact-join.ts";
export {
  buildLabelledSet,
  buildCopySet,
  replaceWords,
  perturb,
  scoreDedup,
  exactPairAgreement,
  PERTURBATION_KINDS,
  type LabelledDocument,
  type PerturbationKind,
  type DedupScore,
  type ExactPairAgreement,
} from "./accuracy.ts";
export { minhashDedupStep, DEDUP_ATTRIBUTE_SCHEMA, CLUSTER_SCHEMA, type MinHashDedupOptions, type MinHashDedupResult, type DedupSourceResult } from "./dedup-step.ts";
export {
  SourceLayoutError,
  listSourceParts,
  attributeFilePath,
  attributeDir,
  sourceInput,
  nodeKey,
  parseNodeKey,
  type NormalizedSource,
  type SourcePart,
} from "./source-parts.ts";
