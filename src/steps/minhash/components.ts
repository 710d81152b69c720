/**
 * Connected components of the candidate-edge graph, two ways, and the per-document cluster
 * attributes dedup writes.
 *
 * (a) `componentsByUnionFind`: the in-memory reference (union by size, path halving).
 * (b) Iterated min-label propagation written as pure map/reduce functions so it maps onto the
 *     shuffle one groupBy per round. Records are plain JSON.
 *     Round 0 — map `adjacencyMessages(edge)` over every edge shard (both directions), groupBy
 *       node, reduce `initialNodeState(node, neighbours)`: label = min(node, neighbours), marked
 *       changed.
 *     Round k ≥ 1 — map `labelMessages(state)` over node-state shards: the state goes to itself and,
 *       only if its label changed last round, its label goes to every neighbour; groupBy `to`;
 *       reduce `applyLabelMessages(node, messages)`: label = min(own, received), changed if lower.
 *       Sum the `changed` counter over shards; stop after the first round in which it is zero.
 *     A node that did not change has already sent its current label, so only changed nodes send;
 *     at the fixpoint every node's label is ≤ its neighbours', hence the component's minimum id.
 *     Rounds needed: about the graph diameter (+1); star edges keep that small.
 *     `runShardedLabelPropagation` drives the rounds in-process, scattering by a hash of the key
 *     exactly as the shuffle will, so components spanning shards are exercised in tests.
 * Canonical rule: the document with the smallest id (code-unit order) in a cluster is canonical
 * and is kept; `dup_cluster_id` is that id. Singletons get no record.
 */
import { MinHashInputError } from "./errors.ts";
import type { Edge } from "./lsh.ts";

/** Attribute record of one document that belongs to a cluster of two or more. */
export interface DupClusterRecord {
  readonly id: string;
  readonly attributes: { readonly dup_cluster_id: string; readonly is_cluster_canonical: boolean };
}

function checkEdge(edge: Edge, where: string): void {
  if (!Array.isArray(edge) || typeof edge[0] !== "string" || typeof edge[1] !== "string") {
    throw new MinHashInputError(
      `${where} is ${JSON.stringify(edge)}; an edge must be a pair of string document ids`,
      "produce edges as [id, id] pairs (see starEdges)",
    );
  }
}

/** Reference: node id → smallest id of its component, for every node that appears in an edge. */
export function componentsByUnionFind(edges: Iterable<Edge>): Map<string, string> {
  const indexOf = new Map<string, number>();
  const names: string[] = [];
  const parent: number[] = [];
  const size: number[] = [];
  const nodeIndex = (id: string): number => {
    let index = indexOf.get(id);
    if (index === undefined) {
      index = names.length;
      indexOf.set(id, index);
      names.push(id);
      parent.push(index);
      size.push(1);
    }
    return index;
  };
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  let position = 0;
  for (const edge of edges) {
    checkEdge(edge, `edge #${position++}`);
    let rootA = find(nodeIndex(edge[0]));
    let rootB = find(nodeIndex(edge[1]));
    if (rootA === rootB) continue;
    if (size[rootA] < size[rootB]) [rootA, rootB] = [rootB, rootA];
    parent[rootB] = rootA;
    size[rootA] += size[rootB];
  }
  const minOfRoot = new Map<number, string>();
  for (let i = 0; i < names.length; i++) {
    const root = find(i);
    const current = minOfRoot.get(root);
    if (current === undefined || names[i] < current) minOfRoot.set(root, names[i]);
  }
  const labels = new Map<string, string>();
  for (let i = 0; i < names.length; i++) labels.set(names[i], minOfRoot.get(find(i))!);
  return labels;
}

/** Round-0 map output: `neighbour` is adjacent to `node`. */
export interface AdjacencyMessage {
  readonly node: string;
  readonly neighbour: string;
}

/** One node's state between rounds. */
export interface NodeState {
  readonly id: string;
  readonly label: string;
  readonly neighbours: readonly string[];
  /** Whether `label` changed in the last round (so it must still be sent to the neighbours). */
  readonly changed: boolean;
}

/** Round-k map output, keyed by `to`: the node's own state, or a neighbour's label. */
export type LabelMessage =
  | { readonly to: string; readonly state: NodeState }
  | { readonly to: string; readonly label: string };

/** Round 0 map: both directions of an edge; self-loops carry no information and emit nothing. */
export function adjacencyMessages(edge: Edge): AdjacencyMessage[] {
  checkEdge(edge, "edge");
  if (edge[0] === edge[1]) return [];
  return [
    { node: edge[0], neighbour: edge[1] },
    { node: edge[1], neighbour: edge[0] },
  ];
}

/** Round 0 reduce: a node and all its neighbours (duplicates allowed) → its first state. */
export function initialNodeState(node: string, neighbours: Iterable<string>): NodeState {
  const unique = [...new Set(neighbours)].sort();
  let label = node;
  if (unique.length > 0 && unique[0] < label) label = unique[0];
  return { id: node, label, neighbours: unique, changed: true };
}

/** Round k map: the state to itself; its label to the neighbours only if it changed. */
export function labelMessages(state: NodeState): LabelMessage[] {
  const messages: LabelMessage[] = [{ to: state.id, state }];
  if (state.changed) for (const neighbour of state.neighbours) messages.push({ to: neighbour, label: state.label });
  return messages;
}

/** Round k reduce: the node's new state from its own state and the labels it received. */
export function applyLabelMessages(node: string, messages: Iterable<LabelMessage>): NodeState {
  let state: NodeState | undefined;
  let minReceived: string | undefined;
  for (const message of messages) {
    if ("state" in message) state = message.state;
    else if (minReceived === undefined || message.label < minReceived) minReceived = message.label;
  }
  if (state === undefined) {
    throw new MinHashInputError(
      `label propagation: node "${node}" received labels but no state of its own`,
      "every round must map every node state (labelMessages) into the same groupBy as the labels",
    );
  }
  if (minReceived !== undefined && minReceived < state.label) {
    return { id: state.id, label: minReceived, neighbours: state.neighbours, changed: true };
  }
  return state.changed ? { ...state, changed: false } : state;
}

/** Partition of a key among `numShards` (FNV-1a over code units; the shuffle uses its own hash). */
export function shardOfKey(key: string, numShards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % numShards;
}

function scatterAndGroup<M>(
  shardOutputs: Iterable<M[]>,
  keyOf: (message: M) => string,
  numShards: number,
): Map<string, M[]>[] {
  const partitions = Array.from({ length: numShards }, () => new Map<string, M[]>());
  for (const output of shardOutputs) {
    for (const message of output) {
      const key = keyOf(message);
      const group = partitions[shardOfKey(key, numShards)];
      const list = group.get(key);
      if (list) list.push(message);
      else group.set(key, [message]);
    }
  }
  return partitions;
}

export interface LabelPropagationResult {
  /** Node id → smallest id of its component. */
  readonly labels: Map<string, string>;
  /** Label rounds run, including the last one in which nothing changed (round 0 not counted). */
  readonly rounds: number;
  /** Messages shuffled in each label round, for cost estimates. */
  readonly messagesPerRound: number[];
}

/**
 * Runs the propagation rounds over `edgeShards` in-process with `numShards` node partitions,
 * each round a map over every shard, a scatter by key hash, and a reduce per key.
 */
export function runShardedLabelPropagation(
  edgeShards: readonly (readonly Edge[])[],
  numShards: number,
  maxRounds = 100_000,
): LabelPropagationResult {
  if (!Number.isInteger(numShards) || numShards < 1) {
    throw new MinHashInputError(`numShards is ${numShards}`, "pass a positive integer number of node shards");
  }
  const adjacency = scatterAndGroup(
    edgeShards.map((shard) => shard.flatMap(adjacencyMessages)),
    (message) => message.node,
    numShards,
  );
  let states: NodeState[][] = adjacency.map((group) =>
    [...group].map(([node, messages]) => initialNodeState(node, messages.map((m) => m.neighbour))),
  );
  const messagesPerRound: number[] = [];
  let rounds = 0;
  for (;;) {
    if (rounds >= maxRounds) {
      throw new MinHashInputError(
        `label propagation did not converge in ${maxRounds} rounds`,
        "raise maxRounds; very long chains need about one round per hop (star edges avoid them)",
      );
    }
    rounds++;
    const mapped = states.map((shard) => shard.flatMap(labelMessages));
    messagesPerRound.push(mapped.reduce((total, shard) => total + shard.length, 0));
    const grouped = scatterAndGroup(mapped, (message) => message.to, numShards);
    let changed = 0;
    states = grouped.map((group) =>
      [...group].map(([node, messages]) => {
        const next = applyLabelMessages(node, messages);
        if (next.changed) changed++;
        return next;
      }),
    );
    if (changed === 0) break;
  }
  const labels = new Map<string, string>();
  for (const shard of states) for (const state of shard) labels.set(state.id, state.label);
  return { labels, rounds, messagesPerRound };
}

/**
 * Attribute records for every document in a cluster of two or more, sorted by id (the order
 * attribute files are written in). `labels` maps id → cluster's smallest id.
 */
export function clusterAttributes(labels: ReadonlyMap<string, string>): DupClusterRecord[] {
  const clusterSize = new Map<string, number>();
  for (const label of labels.values()) clusterSize.set(label, (clusterSize.get(label) ?? 0) + 1);
  const records: DupClusterRecord[] = [];
  for (const [id, label] of labels) {
    if ((clusterSize.get(label) ?? 0) < 2) continue;
    records.push({ id, attributes: { dup_cluster_id: label, is_cluster_canonical: id === label } });
  }
  return records.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}
