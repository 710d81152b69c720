/**
 * From step objects to a resolved DAG. Each step's version is the sha256 of the canonical JSON of
 * `{name, config: versioned values by dotted path, deps: each input's version (and sub-path)}`; its
 * output folder is `<name>-<first 8 hex of the version>`, relative to whatever prefix a run uses.
 * Steps with equal versions are one node. A cycle is an error that names it. Nodes come out in a
 * deterministic topological order (dependencies first, ties by name).
 */
import { createHash } from "node:crypto";
import { KilnError } from "../errors.ts";
import { canonicalJson } from "./canonical-json.ts";
import { isStep, toRef, type AnyStep } from "./step.ts";
import { splitConfig } from "./versioned.ts";

export class GraphError extends KilnError {
  constructor(code: string, message: string, hint: string) {
    super(code, message, hint);
  }
}

export interface DepEdge {
  /** The input's name in the consuming step. */
  readonly input: string;
  readonly node: StepNode;
  readonly subPath: string | undefined;
}

export interface StepNode {
  readonly step: AnyStep;
  readonly name: string;
  /** Full sha256 hex of the version JSON. */
  readonly version: string;
  /** `<name>-<hash8>`: the output folder relative to a prefix. */
  readonly relPath: string;
  readonly deps: readonly DepEdge[];
  /** Config with `versioned` markers unwrapped, as `run` sees it. */
  readonly config: unknown;
  /** The versioned values by dotted path, as hashed. */
  readonly versionedConfig: Record<string, unknown>;
}

export interface Graph {
  /** Topological order: every node after all of its dependencies. */
  readonly nodes: readonly StepNode[];
  readonly byVersion: ReadonlyMap<string, StepNode>;
  readonly byName: ReadonlyMap<string, StepNode[]>;
}

export function hashVersion(versionJson: string): string {
  return createHash("sha256").update(versionJson).digest("hex");
}

/** Builds the DAG of `roots` and all their transitive inputs. */
export function buildGraph(roots: Iterable<AnyStep>): Graph {
  const memo = new Map<AnyStep, StepNode>();
  const byVersion = new Map<string, StepNode>();
  const visiting: AnyStep[] = [];

  const resolve = (s: AnyStep): StepNode => {
    const known = memo.get(s);
    if (known) return known;
    const cycleStart = visiting.indexOf(s);
    if (cycleStart >= 0) {
      const names = [...visiting.slice(cycleStart), s].map((x) => x.name);
      throw new GraphError("KILN_CYCLE", `the steps form a cycle: ${names.join(" -> ")}`, "remove one of these inputs so the graph is acyclic");
    }
    visiting.push(s);
    try {
      const deps: DepEdge[] = [];
      const depVersions: Record<string, string> = {};
      for (const input of Object.keys(s.inputs).sort()) {
        const spec = s.inputs[input];
        if (!isStep(spec) && (spec as { kind?: string })?.kind !== "kiln.step-ref") {
          throw new GraphError(
            "KILN_BAD_INPUT",
            `input '${input}' of step '${s.name}' is not a step or a step reference`,
            "pass another step, or step.output('sub/path')",
          );
        }
        const ref = toRef(spec);
        const node = resolve(ref.step);
        deps.push({ input, node, subPath: ref.subPath });
        depVersions[input] = ref.subPath ? `${node.version}/${ref.subPath}` : node.version;
      }
      const { resolved, versionedByPath } = splitConfig(s.config);
      let versionJson: string;
      try {
        versionJson = canonicalJson({ name: s.name, config: versionedByPath, deps: depVersions });
      } catch (err) {
        if (err instanceof KilnError) {
          throw new GraphError(err.code, `step '${s.name}': ${err.message}`, err.hint);
        }
        throw err;
      }
      const version = hashVersion(versionJson);
      const existing = byVersion.get(version);
      if (existing) {
        memo.set(s, existing);
        return existing;
      }
      const node: StepNode = {
        step: s,
        name: s.name,
        version,
        relPath: `${s.name}-${version.slice(0, 8)}`,
        deps,
        config: resolved,
        versionedConfig: versionedByPath,
      };
      memo.set(s, node);
      byVersion.set(version, node);
      return node;
    } finally {
      visiting.pop();
    }
  };

  for (const r of roots) resolve(r);

  // Output folders must be distinct: two different versions sharing name and hash8 would collide.
  const byRel = new Map<string, StepNode>();
  for (const node of byVersion.values()) {
    const other = byRel.get(node.relPath);
    if (other) {
      throw new GraphError(
        "KILN_PATH_COLLISION",
        `steps with versions ${other.version} and ${node.version} share the output folder ${node.relPath}`,
        "rename one of the steps",
      );
    }
    byRel.set(node.relPath, node);
  }

  const nodes = topoSort([...byVersion.values()]);
  const byName = new Map<string, StepNode[]>();
  for (const n of nodes) byName.set(n.name, [...(byName.get(n.name) ?? []), n]);
  return { nodes, byVersion, byName };
}

/** Kahn's algorithm with ties broken by (name, version) so the order is deterministic. */
function topoSort(all: StepNode[]): StepNode[] {
  const key = (n: StepNode) => `${n.name}\u0000${n.version}`;
  const indegree = new Map<StepNode, number>();
  const dependents = new Map<StepNode, StepNode[]>();
  for (const n of all) {
    const unique = new Set(n.deps.map((d) => d.node));
    indegree.set(n, unique.size);
    for (const d of unique) dependents.set(d, [...(dependents.get(d) ?? []), n]);
  }
  const ready = all.filter((n) => indegree.get(n) === 0).sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const out: StepNode[] = [];
  while (ready.length) {
    const n = ready.shift()!;
    out.push(n);
    const next: StepNode[] = [];
    for (const d of dependents.get(n) ?? []) {
      const left = indegree.get(d)! - 1;
      indegree.set(d, left);
      if (left === 0) next.push(d);
    }
    if (next.length) {
      ready.push(...next);
      ready.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    }
  }
  return out;
}

/** The nodes whose names match any of the patterns, plus their transitive dependencies. */
export function selectWithDependencies(graph: Graph, patterns: RegExp[]): { selected: Set<StepNode>; unmatched: RegExp[] } {
  const selected = new Set<StepNode>();
  const unmatched: RegExp[] = [];
  const add = (n: StepNode): void => {
    if (selected.has(n)) return;
    selected.add(n);
    for (const d of n.deps) add(d.node);
  };
  for (const re of patterns) {
    const hits = graph.nodes.filter((n) => re.test(n.name));
    if (!hits.length) unmatched.push(re);
    hits.forEach(add);
  }
  return { selected, unmatched };
}

/** The DAG as Mermaid flowchart text. */
export function toMermaid(graph: Graph): string {
  const id = new Map<StepNode, string>();
  graph.nodes.forEach((n, i) => id.set(n, `s${i}`));
  const lines = ["flowchart TD"];
  for (const n of graph.nodes) lines.push(`  ${id.get(n)}["${n.name}<br/>${n.version.slice(0, 8)}"]`);
  for (const n of graph.nodes) {
    for (const d of n.deps) {
      const label = d.subPath ? `${d.input}: ${d.subPath}` : d.input;
      lines.push(`  ${id.get(d.node)} -->|${label.replace(/[|"]/g, "_")}| ${id.get(n)}`);
    }
  }
  return lines.join("\n") + "\n";
}
