/** Tests of band keys, star edges, union-find and sharded min-label propagation, cluster records. */
import { describe, expect, it } from "vitest";
import {
  MinHashConfigError,
  MinHashInputError,
  bandKeys,
  candidateEdges,
  clusterAttributes,
  componentsByUnionFind,
  runShardedLabelPropagation,
  starEdges,
  type Edge,
} from "../../../src/steps/minhash/index.ts";
import { seededUint32 } from "../../../src/steps/minhash/signature.ts";
import * as labelFns from "../../../src/steps/minhash/components.ts";

describe("bandKeys", () => {
  const signature = Uint32Array.from({ length: 12 }, (_, i) => i * 1000 + 7);
  it("gives one 16-hex key per band; equal bands give equal keys, a changed row a different key", () => {
    const keys = bandKeys(signature, 3, 4);
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{16}$/);
    const changed = signature.slice();
    changed[5] += 1; // band 1
    const other = bandKeys(changed, 3, 4);
    expect(other[0]).toBe(keys[0]);
    expect(other[1]).not.toBe(keys[1]);
    expect(other[2]).toBe(keys[2]);
  });
  it("mixes the band index in: the same values in two bands give different keys", () => {
    const repeated = Uint32Array.from([1, 2, 3, 1, 2, 3]);
    const [first, second] = bandKeys(repeated, 2, 3);
    expect(first).not.toBe(second);
  });
  it("rejects a banding that does not match the signature, and skips empty documents", () => {
    expect(() => bandKeys(signature, 5, 2)).toThrow(MinHashConfigError);
    expect(bandKeys(new Uint32Array(12).fill(0xffffffff), 3, 4)).toEqual([]);
  });
});

describe("star edges and candidates", () => {
  it("links every member of a bucket to its minimum id, once", () => {
    expect(starEdges(["d", "b", "c", "b"])).toEqual([
      ["d", "b"],
      ["c", "b"],
    ]);
    expect(starEdges(["only"])).toEqual([]);
  });
  it("finds documents sharing a band and refuses duplicate ids", () => {
    const a = Uint32Array.from([1, 2, 3, 4]);
    const b = Uint32Array.from([1, 2, 9, 9]);
    const c = Uint32Array.from([5, 6, 7, 8]);
    const edges = candidateEdges(
      [
        { id: "a", signature: a },
        { id: "b", signature: b },
        { id: "c", signature: c },
      ],
      2,
      2,
    );
    expect(edges).toEqual([["b", "a"]]);
    expect(() => candidateEdges([{ id: "x", signature: a }, { id: "x", signature: b }], 2, 2)).toThrow(/appears twice/);
  });
});

function randomGraph(seed: number, nodes: number, edgeCount: number): Edge[] {
  const next = seededUint32(seed);
  const edges: Edge[] = [];
  for (let i = 0; i < edgeCount; i++) {
    edges.push([`n${next() % nodes}`, `n${next() % nodes}`]);
  }
  return edges;
}

function splitIntoShards(edges: Edge[], shards: number): Edge[][] {
  const out: Edge[][] = Array.from({ length: shards }, () => []);
  edges.forEach((edge, i) => out[i % shards].push(edge));
  return out;
}

describe("connected components", () => {
  it("union-find labels a chain, a star and separate components with their minimum id", () => {
    const labels = componentsByUnionFind([
      ["c3", "c2"],
      ["c2", "c1"],
      ["c1", "c0"],
      ["s1", "hub"],
      ["s2", "hub"],
      ["a", "zz"],
    ]);
    expect(labels.get("c3")).toBe("c0");
    expect(labels.get("c0")).toBe("c0");
    expect(labels.get("s2")).toBe("hub");
    expect(labels.get("zz")).toBe("a");
    expect(labels.size).toBe(9);
  });

  it("label propagation on a long chain spanning shards needs about one round per hop", () => {
    const length = 40;
    const chain: Edge[] = [];
    for (let i = 0; i < length - 1; i++) chain.push([`v${String(i + 1).padStart(3, "0")}`, `v${String(i).padStart(3, "0")}`]);
    const result = runShardedLabelPropagation(splitIntoShards(chain, 4), 3);
    for (const label of result.labels.values()) expect(label).toBe("v000");
    expect(result.labels.size).toBe(length);
    expect(result.rounds).toBeGreaterThanOrEqual(length - 2);
    expect(result.rounds).toBeLessThanOrEqual(length + 1);
  });

  it("label propagation on a star converges in two rounds", () => {
    const star: Edge[] = Array.from({ length: 50 }, (_, i) => [`leaf${i}`, "a-hub"] as const);
    const result = runShardedLabelPropagation(splitIntoShards(star, 5), 4);
    expect(new Set(result.labels.values())).toEqual(new Set(["a-hub"]));
    expect(result.rounds).toBeLessThanOrEqual(2);
  });

  it("agrees with union-find on random graphs for several shard counts", () => {
    for (const [seed, nodes, edges, shards] of [
      [1, 200, 150, 1],
      [2, 500, 450, 4],
      [3, 1000, 700, 7],
      [4, 300, 600, 3],
    ] as const) {
      const graph = randomGraph(seed, nodes, edges);
      const reference = componentsByUnionFind(graph);
      const result = runShardedLabelPropagation(splitIntoShards(graph, shards), shards + 1);
      expect(result.labels).toEqual(reference);
      expect(result.messagesPerRound.length).toBe(result.rounds);
    }
  });

  it("rejects a malformed edge naming its position", () => {
    expect(() => componentsByUnionFind([["a", "b"], ["c", 3 as unknown as string]])).toThrow(MinHashInputError);
    expect(() => componentsByUnionFind([["a", "b"], ["c", 3 as unknown as string]])).toThrow(/edge #1/);
  });
});

describe("clusterAttributes", () => {
  it("writes one record per clustered document, canonical = minimum id, singletons omitted, sorted by id", () => {
    const labels = componentsByUnionFind([
      ["m", "k"],
      ["z", "m"],
      ["solo", "solo"],
    ]);
    expect(clusterAttributes(labels)).toEqual([
      { id: "k", attributes: { dup_cluster_id: "k", is_cluster_canonical: true } },
      { id: "m", attributes: { dup_cluster_id: "k", is_cluster_canonical: false } },
      { id: "z", attributes: { dup_cluster_id: "k", is_cluster_canonical: false } },
    ]);
  });
});

describe("label propagation round functions", () => {
  it("round 0 builds adjacency; a round sends labels only from nodes that changed", () => {
    const {
      adjacencyMessages,
      initialNodeState,
      labelMessages,
      applyLabelMessages,
    } = labelFns;
    expect(adjacencyMessages(["b", "a"])).toEqual([
      { node: "b", neighbour: "a" },
      { node: "a", neighbour: "b" },
    ]);
    expect(adjacencyMessages(["x", "x"])).toEqual([]);
    const state = initialNodeState("c", ["d", "b", "d"]);
    expect(state).toEqual({ id: "c", label: "b", neighbours: ["b", "d"], changed: true });
    expect(labelMessages(state)).toHaveLength(3);
    const settled = applyLabelMessages("c", [{ to: "c", state }, { to: "c", label: "e" }]);
    expect(settled).toEqual({ ...state, changed: false });
    expect(labelMessages(settled)).toEqual([{ to: "c", state: settled }]);
    const lowered = applyLabelMessages("c", [{ to: "c", label: "a" }, { to: "c", state: settled }]);
    expect(lowered).toMatchObject({ label: "a", changed: true });
    expect(() => applyLabelMessages("q", [{ to: "q", label: "a" }])).toThrow(/no state of its own/);
  });
});
