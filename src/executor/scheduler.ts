/**
 * Runs a whole DAG: selects steps (`only` plus transitive dependencies), starts each step when its
 * dependencies are done, at most `maxConcurrent` at a time, marks the dependents of a failed step
 * DEP_FAILED, and returns every step's outcome. Steps run through `executeStep` in this process, or
 * through another executor given as `stepExecutor` (remote workers). A dry run reports, per step,
 * skip / run / wait / blocked with the reason, reading markers only.
 */
import { execFileSync } from "node:child_process";
import { KilnError } from "../errors.ts";
import { selectWithDependencies, type Graph, type StepNode } from "../graph/dag.ts";
import { fileSystemFor, joinPath } from "../io/index.ts";
import { DEFAULT_LEASE_TIMING, type LeaseTiming } from "./lease.ts";
import { readStatus, writeStatus } from "./markers.ts";
import { TransferBudget, type RegionPolicy } from "./regions.ts";
import { executeStep, newOwnerId, planStep, type PlanAction, type RunEnvironment, type StepExecutor, type StepOutcome } from "./step-runner.ts";

export interface RunOptions {
  /** Home prefix: where outputs are written. */
  prefix: string;
  /** Other region prefixes searched for finished outputs, in order. */
  regions?: string[];
  regionPolicy?: RegionPolicy;
  /** Bytes that may be copied from other regions in this run (default: 100 GiB). */
  transferBudgetBytes?: number;
  maxConcurrent?: number;
  dryRun?: boolean;
  /** Run only the steps whose names match one of these, plus their dependencies. */
  only?: RegExp[];
  /** Rerun the steps whose names match one of these even if they succeeded. */
  force?: RegExp[];
  forceFailed?: boolean;
  lease?: Partial<LeaseTiming>;
  /** How often a step waiting on another owner's lease looks again (default 1 s). */
  pollMs?: number;
  /** A running step silent for this long logs that it is still running (default 10 s). */
  quietMs?: number;
  log?: (line: string) => void;
  /** Runs each step (default: `executeStep` in this process; `kiln run --redis` hands steps to remote workers). */
  stepExecutor?: StepExecutor;
}

export interface PlannedStep {
  node: StepNode;
  outputPath: string;
  action: PlanAction;
  reason: string;
}

export interface RunSummary {
  outcomes: StepOutcome[];
  failed: StepOutcome[];
  ok: boolean;
}

export class SelectionError extends KilnError {
  constructor(patterns: RegExp[], names: string[]) {
    super(
      "KILN_NOTHING_SELECTED",
      `--only ${patterns.map((p) => p.source).join(", ")} matches no step`,
      `step names in this pipeline: ${names.slice(0, 30).join(", ")}${names.length > 30 ? ", ..." : ""}`,
    );
  }
}

let cachedCommit: string | null | undefined;
function gitCommit(): string | null {
  if (cachedCommit === undefined) {
    try {
      cachedCommit = execFileSync("git", ["rev-parse", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim() || null;
    } catch {
      cachedCommit = null;
    }
  }
  return cachedCommit;
}

function environment(opts: RunOptions): RunEnvironment {
  const force = opts.force ?? [];
  return {
    prefix: opts.prefix,
    regions: opts.regions ?? [],
    regionPolicy: opts.regionPolicy ?? "copy",
    budget: new TransferBudget(opts.transferBudgetBytes ?? 100 * 1024 ** 3),
    timing: { ...DEFAULT_LEASE_TIMING, ...opts.lease },
    pollMs: opts.pollMs ?? 1000,
    owner: newOwnerId(),
    forceFailed: opts.forceFailed ?? false,
    isForced: (node) => force.some((re) => re.test(node.name)),
    gitCommit: gitCommit(),
    quietMs: opts.quietMs ?? 10_000,
    log: opts.log ?? (() => undefined),
  };
}

/** The steps a run would consider: all, or those selected by `only` with their dependencies. */
export function selectSteps(graph: Graph, opts: Pick<RunOptions, "only" | "log">): StepNode[] {
  if (!opts.only?.length) return [...graph.nodes];
  const { selected, unmatched } = selectWithDependencies(graph, opts.only);
  if (!selected.size) throw new SelectionError(opts.only, [...graph.byName.keys()]);
  for (const re of unmatched) opts.log?.(`warning: --only ${re.source} matches no step`);
  return graph.nodes.filter((n) => selected.has(n));
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Dry run: what would happen to each selected step, reading markers only. */
export async function planRun(graph: Graph, opts: RunOptions): Promise<PlannedStep[]> {
  const env = environment(opts);
  const nodes = selectSteps(graph, opts);
  const plans = await mapLimited(nodes, 64, async (node) => ({
    node,
    outputPath: joinPath(opts.prefix, node.relPath),
    ...(await planStep(node, env)),
  }));
  // A step downstream of a blocked one cannot run either.
  const blocked = new Map<StepNode, string>();
  for (const p of plans) {
    const bad = p.node.deps.find((d) => blocked.has(d.node));
    if (p.action === "blocked") blocked.set(p.node, p.node.name);
    else if (bad && p.action !== "skip") {
      p.action = "blocked";
      p.reason = `dependency '${blocked.get(bad.node)}' is blocked`;
      blocked.set(p.node, blocked.get(bad.node)!);
    }
  }
  return plans;
}

/** Runs the selected steps of a graph. */
export async function runGraph(graph: Graph, opts: RunOptions): Promise<RunSummary> {
  const env = environment(opts);
  const nodes = selectSteps(graph, opts);
  const limit = Math.max(1, opts.maxConcurrent ?? 8);
  let running = 0;
  const waiters: Array<() => void> = [];
  const slot = async (): Promise<void> => {
    if (running < limit) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const release = (): void => {
    const next = waiters.shift();
    if (next) next();
    else running--;
  };

  const outcomes = new Map<StepNode, Promise<StepOutcome>>();
  let finished = 0;
  const progress = () => `[${++finished}/${nodes.length}]`;
  for (const node of nodes) {
    outcomes.set(node, (async () => {
      const depNodes = [...new Set(node.deps.map((d) => d.node))];
      const depResults = new Map<StepNode, StepOutcome>();
      for (const d of depNodes) depResults.set(d, await outcomes.get(d)!);
      const bad = [...depResults.values()].find((o) => o.state === "failed" || o.state === "dep-failed");
      if (bad) return markDependencyFailed(node, bad, opts.prefix);
      await slot();
      try {
        const outcome = await (opts.stepExecutor ?? executeStep)(node, depResults, env);
        if (outcome.state === "ran" || outcome.state === "copied") {
          env.log(`${progress()} ${outcome.state === "ran" ? "done" : "copied"} ${node.name} (${(outcome.durationMs / 1000).toFixed(1)} s)`);
        } else if (outcome.state === "failed") {
          env.log(`${progress()} FAILED ${node.name}: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`);
        } else {
          finished++;
        }
        return outcome;
      } catch (err) {
        return { node, state: "failed", outputPath: joinPath(opts.prefix, node.relPath), error: err, durationMs: 0 } satisfies StepOutcome;
      } finally {
        release();
      }
    })());
  }
  const all = await Promise.all(outcomes.values());
  const failed = all.filter((o) => o.state === "failed");
  return { outcomes: all, failed, ok: all.every((o) => o.state !== "failed" && o.state !== "dep-failed") };
}

async function markDependencyFailed(node: StepNode, because: StepOutcome, prefix: string): Promise<StepOutcome> {
  const out = joinPath(prefix, node.relPath);
  const fs = fileSystemFor(out);
  const status = await readStatus(fs, out).catch(() => null);
  if (status !== "SUCCESS" && status !== "RUNNING") await writeStatus(fs, out, "DEP_FAILED").catch(() => undefined);
  const root = because.state === "dep-failed" ? (because.detail ?? because.node.name) : because.node.name;
  return { node, state: "dep-failed", outputPath: out, durationMs: 0, detail: root };
}
