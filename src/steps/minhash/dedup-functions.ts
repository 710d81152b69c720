/**
 * The MinHash dedup step's row functions, module-level so that any executor runs them by reference
 * (`fn(DEDUP_FUNCTIONS, f)`). In plan order:
 *   signedDocuments   a source record → `{n: node key, k: band keys}` (records are checked against
 *                     the part convention: string id and text, sorted, in their part), kept in
 *                     scratch; entriesOfDocument turns one into its band entries `{b, n}`, and
 *                     bandEntries does both at once (the plan without verification);
 *   bucketPairs       a partition sorted by (band key, node) → candidate pairs `{a, b}`, each member
 *                     with the bucket's first members (a stateful flatMap), to be verified
 *                     (verify-functions.ts), whose verified edges become adjacency (edgeAdjacency);
 *   bucketEdges       without verification: star edges member ↔ bucket minimum, unchecked;
 *   firstState        a node and its adjacency lists → its round-0 state (label = min of node and
 *                     neighbours);
 *   stateMessages /   one label-propagation round: each state to itself and, if its label changed,
 *   applyMessages     its label to its neighbours; the new state per node; counter `changed`;
 *   clusterLabels     a final state → its attribute row `{s, id, c, k}` (source index, id, cluster
 *                     id, canonical);
 *   ofSource, toAttributes
 *                     the labels of one source, joined with the ids of its parts (every label must
 *                     find its document) → `{id, attributes: {dup_cluster_id, is_cluster_canonical}}`.
 */
import type { ShuffleKey } from "../../shuffle/index.ts";
import type { UserContext } from "../../dataset/index.ts";
import { applyLabelMessages, initialNodeState, labelMessages, type LabelMessage, type NodeState } from "./components.ts";
import { bandKeyNumbers } from "./lsh.ts";
import type { ResolvedNormalization } from "./shingles.ts";
import { createSignatureHasher, type MinHashScheme } from "./one-permutation.ts";
import type { MinHashParams } from "./signature.ts";
import { SourceLayoutError, nodeKey, parseNodeKey, sourceRecordChecker } from "./source-parts.ts";

/** This module's URL, for fn(DEDUP_FUNCTIONS, f). */
export const DEDUP_FUNCTIONS = import.meta.url;

/** A document's membership in one band bucket. */
export interface BandEntry {
  b: number;
  n: string;
}

/** Two documents (node keys, a < b) that share a band bucket. */
export interface CandidatePair {
  a: string;
  b: string;
}

/** Adjacency of a node (merged per node by the combiner). */
export interface AdjacencyEntry {
  n: string;
  a: string[];
}

/** A clustered document's label: source index, id, cluster id (the canonical's id), the canonical's source index, canonical. */
export interface ClusterLabel {
  s: number;
  id: string;
  c: string;
  cs: number;
  k: boolean;
}

export interface DupAttributes {
  dup_cluster_id: string;
  is_cluster_canonical: boolean;
}

export interface AttributeRow {
  id: string;
  attributes: DupAttributes;
}

export type BandArgs = {
  params: MinHashParams;
  scheme: MinHashScheme;
  normalization: ResolvedNormalization;
  /** Folder of each source's parts, by source index. */
  dirs: string[];
};

/**
 * A reader of source records in part order: each record checked against the part convention, with
 * the index of the source whose folder (one of `dirs`, by source index) holds its file.
 */
export function sourceRecordReader(dirs: readonly string[]): (row: unknown, ctx: UserContext) => { id: string; text: string; source: number } {
  const folders = dirs.map((d) => d.replace(/\/+$/, "") + "/");
  const check = sourceRecordChecker();
  let file = "";
  let source = -1;
  return (row, ctx) => {
    const at = ctx.position();
    if (at && at.source !== file) {
      file = at.source;
      source = folders.findIndex((d) => file.startsWith(d));
    }
    return { ...check(row, file, at?.record ?? 0), source };
  };
}

/** A document's node key and its band keys (52-bit integers), one record per document. */
export interface SignedDocument {
  n: string;
  k: number[];
}

/** A signer of source records (part convention checked, documents and characters counted); undefined for an empty document. */
function documentSigner(args: BandArgs): (row: unknown, ctx: UserContext) => SignedDocument | undefined {
  const hasher = createSignatureHasher(args.scheme, args.params, args.normalization);
  const scratch = new Uint32Array(args.params.numPerm);
  const readSource = sourceRecordReader(args.dirs);
  return (row, ctx) => {
    const { id, text, source } = readSource(row, ctx);
    const counters = ctx.counters;
    counters.increment(`documents:${source}`);
    counters.increment("textChars", text.length);
    const keys = bandKeyNumbers(hasher.signature(text, scratch), args.params.bands, args.params.rows);
    if (keys.length === 0) {
      counters.increment("emptyDocuments");
      return undefined;
    }
    counters.increment("bandEntries", keys.length);
    return { n: nodeKey(source, id), k: keys };
  };
}

/** A signed document's band entries. */
export function entriesOfDocument(doc: SignedDocument): BandEntry[] {
  return doc.k.map((b) => ({ b, n: doc.n }));
}

/** Factory of the flatMap over source records: their band entries, with the part convention checked. */
export function bandEntries(args: BandArgs): (row: unknown, ctx: UserContext) => BandEntry[] {
  const sign = documentSigner(args);
  return (row, ctx) => {
    const doc = sign(row, ctx);
    return doc ? entriesOfDocument(doc) : [];
  };
}

/** Factory of the flatMap over source records: one `SignedDocument` each (none for an empty one). */
export function signedDocuments(args: BandArgs): (row: unknown, ctx: UserContext) => SignedDocument[] {
  const sign = documentSigner(args);
  return (row, ctx) => {
    const doc = sign(row, ctx);
    return doc ? [doc] : [];
  };
}

export function bandKeyOf(entry: BandEntry): number {
  return entry.b;
}

export function nodeOf(entry: BandEntry | AdjacencyEntry): string {
  return entry.n;
}

/**
 * Factory of the flatMap over a partition sorted by (band key, node), without verification: the
 * first entry of a key is its bucket's minimum; every other member gets an edge to it, in both
 * directions. It keeps the current bucket across rows (one factory per task, rows in partition
 * order): a synchronous flatMap, so dozens of band entries per document do not each cost an await.
 */
export function bucketEdges(_args: Record<string, never>): (member: BandEntry, ctx: UserContext) => AdjacencyEntry[] {
  let bucket: number | undefined;
  let min: BandEntry | undefined;
  return (member, ctx) => {
    if (member.b !== bucket || min === undefined) {
      bucket = member.b;
      min = member;
      ctx.counters.increment("buckets");
      return [];
    }
    if (member.n === min.n) return [];
    ctx.counters.increment("candidatePairs");
    return [
      { n: member.n, a: [min.n] },
      { n: min.n, a: [member.n] },
    ];
  };
}

/**
 * Factory of the flatMap over a partition sorted by (band key, node), for verification: member i of
 * a bucket is paired with its first min(i, comparisonsPerMember) members (lsh.ts). A pair found in
 * several buckets is emitted once per bucket; the verification stages drop the repeats. Counts
 * `pairs.a:<source>` and `pairs.b:<source>` so that stages with nothing to do are skipped.
 */
export function bucketPairs(args: { comparisonsPerMember: number }): (member: BandEntry, ctx: UserContext) => CandidatePair[] {
  let bucket: number | undefined;
  const first: string[] = [];
  return (member, ctx) => {
    if (member.b !== bucket) {
      bucket = member.b;
      first.length = 0;
      first.push(member.n);
      ctx.counters.increment("buckets");
      return [];
    }
    if (first.includes(member.n)) return [];
    const later = parseNodeKey(member.n).sourceIndex;
    const pairs = first.map((a) => ({ a, b: member.n }));
    for (const p of pairs) ctx.counters.increment(`pairs.a:${parseNodeKey(p.a).sourceIndex}`);
    ctx.counters.increment(`pairs.b:${later}`, pairs.length);
    if (first.length < args.comparisonsPerMember) first.push(member.n);
    return pairs;
  };
}

/** A verified edge → adjacency entries for both of its nodes. */
export function edgeAdjacency(edge: CandidatePair): AdjacencyEntry[] {
  return [
    { n: edge.a, a: [edge.b] },
    { n: edge.b, a: [edge.a] },
  ];
}

/** Combiner: one node's adjacency lists merged, sorted, without repeats. */
export function mergeAdjacency(x: AdjacencyEntry, y: AdjacencyEntry): AdjacencyEntry {
  return { n: x.n, a: [...new Set([...x.a, ...y.a])].sort() };
}

/** Reducer: a node and its adjacency lists → its round-0 state. */
export async function firstState(node: ShuffleKey, lists: AsyncIterable<AdjacencyEntry>): Promise<NodeState> {
  const neighbours: string[] = [];
  for await (const entry of lists) for (const a of entry.a) neighbours.push(a);
  return initialNodeState(String(node), neighbours);
}

export function stateMessages(state: NodeState): LabelMessage[] {
  return labelMessages(state);
}

export function messageTo(message: LabelMessage): string {
  return message.to;
}

/** Reducer of a label round: the node's new state; counts `changed` (0 or 1) for the loop. */
export async function applyMessages(node: ShuffleKey, messages: AsyncIterable<LabelMessage>, ctx: UserContext): Promise<NodeState> {
  const received: LabelMessage[] = [];
  for await (const m of messages) received.push(m);
  const next = applyLabelMessages(String(node), received);
  ctx.counters.increment("changed", next.changed ? 1 : 0);
  return next;
}

/** A final state → its label row; counts members and non-canonical members per source. */
export function clusterLabels(state: NodeState, ctx: UserContext): ClusterLabel[] {
  const { sourceIndex, id } = parseNodeKey(state.id);
  const canonical = state.id === state.label;
  ctx.counters.increment(`members:${sourceIndex}`);
  if (!canonical) ctx.counters.increment(`nonCanonical:${sourceIndex}`);
  const cluster = parseNodeKey(state.label);
  return [{ s: sourceIndex, id, c: cluster.id, cs: cluster.sourceIndex, k: canonical }];
}

/** A label's cluster as a node key (the canonical's source and id), the key its size is counted by. */
export function labelCluster(label: ClusterLabel): string {
  return nodeKey(label.cs, label.c);
}

/** Factory of the filter keeping one source's labels. */
export function ofSource(args: { source: number }): (label: ClusterLabel) => boolean {
  return (label) => label.s === args.source;
}

export function labelId(label: ClusterLabel): string {
  return label.id;
}

export function idOf(row: { id: string }): string {
  return row.id;
}

/** A label joined with its part's ids → the attribute row; a label without its document breaks the convention. */
export function toAttributes(joined: { left: ClusterLabel; right: { id: string } | null }, ctx: UserContext): AttributeRow {
  if (joined.right === null) {
    throw new SourceLayoutError(
      `dedup attribute for id ${joined.left.id} has no document in part ${ctx.shard} of ${ctx.shardCount} (or the id repeats): the source breaks the part convention`,
      "each id must be in exactly one part, partitionOf(id, M), sorted; rerun the normalize step",
    );
  }
  return { id: joined.left.id, attributes: { dup_cluster_id: joined.left.c, is_cluster_canonical: joined.left.k } };
}

/** Size class of a cluster for the `clusterSize:<class>` counters: 2, 3, 4-7, 8-15, … */
export function sizeClass(size: number): string {
  if (size < 4) return String(size);
  const low = 2 ** Math.floor(Math.log2(size));
  return `${low}-${2 * low - 1}`;
}

export function clusterIdOf(row: { cluster_id: string }): string {
  return row.cluster_id;
}

/** Factory of the map from a cluster's member count to its row; counts clusters by size class. */
export function clusterRow(args: { sources: string[] }): (row: { key: unknown; count: number }, ctx: UserContext) => { cluster_id: string; canonical_source: string; size: number } {
  return (row, ctx) => {
    const { sourceIndex, id } = parseNodeKey(String(row.key));
    ctx.counters.increment(`clusterSize:${sizeClass(row.count)}`);
    return { cluster_id: id, canonical_source: args.sources[sourceIndex] ?? String(sourceIndex), size: row.count };
  };
}
