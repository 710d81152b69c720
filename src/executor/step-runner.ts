/**
 * Runs one step of the DAG: skip it when its SUCCESS marker exists, reuse it from another region,
 * or take its lease, re-read its status, write RUNNING, call `run(ctx)`, and write info.json and
 * then SUCCESS (or FAILED). Also answers the dry-run question "what would happen to this step".
 */
import { createHash, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { KilnError } from "../errors.ts";
import { toCanonicalValue } from "../graph/canonical-json.ts";
import type { StepNode } from "../graph/dag.ts";
import type { Input, StepContext } from "../graph/step.ts";
import { fileSystemFor, joinPath, type FileSystem } from "../io/index.ts";
import { CounterSet } from "./counters.ts";
import { inspectLease, Lease, type LeaseTiming } from "./lease.ts";
import { markerPaths, readInfo, readStatus, writeInfo, writeStatus, MARKER_DIR, type StepInfo } from "./markers.ts";
import { copyOutput, findInRegions, formatBytes, listOutputFiles, TransferBudget, TransferBudgetError, type RegionPolicy } from "./regions.ts";

export type OutcomeState = "skipped" | "ran" | "copied" | "read-in-place" | "failed" | "dep-failed";

export interface StepOutcome {
  readonly node: StepNode;
  readonly state: OutcomeState;
  /** Where the step's output lives for its consumers (home, or another region when read in place). */
  readonly outputPath: string;
  readonly result?: unknown;
  readonly error?: unknown;
  readonly durationMs: number;
  readonly detail?: string;
}

export interface RunEnvironment {
  prefix: string;
  regions: readonly string[];
  regionPolicy: RegionPolicy;
  budget: TransferBudget;
  timing: LeaseTiming;
  pollMs: number;
  owner: string;
  forceFailed: boolean;
  isForced(node: StepNode): boolean;
  gitCommit: string | null;
  log(line: string): void;
}

export class StepFailedEarlierError extends KilnError {
  constructor(path: string, reason: string | undefined) {
    super(
      "KILN_FAILED_EARLIER",
      `failed in an earlier run${reason ? `: ${reason}` : ""} (${path})`,
      "fix the cause and rerun with --force-failed",
    );
  }
}

export class MissingInputError extends KilnError {
  constructor(step: string, input: string, path: string) {
    super(
      "KILN_MISSING_INPUT",
      `input '${input}' of step '${step}' points to ${path}, which does not exist`,
      "check the sub-path given to .output(...) against what the dependency writes",
    );
  }
}

export class StepResultError extends KilnError {
  constructor(step: string, cause: unknown) {
    super(
      "KILN_STEP_RESULT",
      `step '${step}' returned a result that is not plain JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      "return plain data (strings, numbers, booleans, arrays, objects) from run(ctx)",
      { cause },
    );
  }
}

export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function codeFingerprint(node: StepNode): string {
  return createHash("sha256").update(node.step.run.toString()).digest("hex").slice(0, 16);
}

function errorInfo(err: unknown): StepInfo["error"] {
  if (err instanceof Error) return { message: err.message, code: (err as KilnError).code, stack: err.stack };
  return { message: String(err) };
}

/** Resolves a node's inputs from its dependencies' outcomes. */
function resolveInputs(node: StepNode, deps: ReadonlyMap<StepNode, StepOutcome>): Record<string, Input<unknown>> {
  const inputs: Record<string, Input<unknown>> = {};
  for (const edge of node.deps) {
    const dep = deps.get(edge.node)!;
    inputs[edge.input] = {
      path: edge.subPath ? joinPath(dep.outputPath, edge.subPath) : dep.outputPath,
      stepPath: dep.outputPath,
      result: dep.result,
    };
  }
  return inputs;
}

async function pathExists(path: string): Promise<boolean> {
  const fs = fileSystemFor(path);
  return (await fs.exists(path)) || (await fs.list(path)).length > 0;
}

/** Removes what an earlier, unfinished attempt left in the output folder (markers excepted). */
async function clearOldOutputs(fs: FileSystem, out: string): Promise<void> {
  const markers = joinPath(out, MARKER_DIR) + "/";
  for (const f of await fs.list(out)) if (!f.path.startsWith(markers)) await fs.delete(f.path);
}

/** Removes temporary files a step's writers left behind, so a finished output holds final files only. */
async function sweepTemporaries(fs: FileSystem, out: string): Promise<void> {
  for (const f of await fs.list(out)) if (f.path.includes(".kiln-tmp-")) await fs.delete(f.path);
}

export async function executeStep(node: StepNode, deps: ReadonlyMap<StepNode, StepOutcome>, env: RunEnvironment): Promise<StepOutcome> {
  const started = Date.now();
  const out = joinPath(env.prefix, node.relPath);
  const fs = fileSystemFor(out);
  const forced = env.isForced(node);
  const done = (state: OutcomeState, extra: Partial<StepOutcome> = {}): StepOutcome => ({
    node, state, outputPath: out, durationMs: Date.now() - started, ...extra,
  });
  const skip = async (): Promise<StepOutcome> => done("skipped", { result: (await readInfo(fs, out))?.result });
  const failedEarlier = async (): Promise<StepOutcome> =>
    done("failed", { error: new StepFailedEarlierError(out, (await readInfo(fs, out))?.error?.message) });

  let region: { region: string; path: string } | null = null;
  if (!forced) {
    const status = await readStatus(fs, out);
    if (status === "SUCCESS") return skip();
    if (status === "FAILED" && !env.forceFailed) return failedEarlier();
    region = await findInRegions(env.regions, node.relPath);
    if (region && env.regionPolicy === "read") {
      const info = await readInfo(fileSystemFor(region.path), region.path);
      env.log(`reuse ${node.name}: reading in place from region ${region.region}`);
      return done("read-in-place", { outputPath: region.path, result: info?.result, detail: region.region });
    }
  }

  const lease = new Lease(fs, markerPaths(out).lease, env.owner, env.timing);
  let announced = false;
  for (;;) {
    const attempt = await lease.tryAcquire();
    if (attempt.acquired) {
      if (attempt.tookOver) env.log(`take over ${node.name}: stale lease (${attempt.tookOver})`);
      break;
    }
    if (!announced && attempt.view.state !== "absent") {
      const h = attempt.view.holder;
      env.log(`wait ${node.name}: running under ${h?.owner ?? "unknown"} (pid ${h?.pid ?? "?"} on ${h?.host ?? "?"})`);
      announced = true;
    }
    await sleep(env.pollMs);
    if (!forced) {
      const status = await readStatus(fs, out);
      if (status === "SUCCESS") return skip();
      if (status === "FAILED" && !env.forceFailed) return failedEarlier();
    }
  }

  try {
    if (!forced) {
      const status = await readStatus(fs, out);
      if (status === "SUCCESS") return await skip();
      if (status === "FAILED" && !env.forceFailed) return await failedEarlier();
    }
    const inputs = resolveInputs(node, deps);
    const base = {
      name: node.name, version: node.version, outputPath: out, versionedConfig: node.versionedConfig, config: node.config,
      dependencies: Object.fromEntries(node.deps.map((d) => [d.input, { path: inputs[d.input].path, version: d.node.version }])),
      codeFingerprint: codeFingerprint(node), gitCommit: env.gitCommit, host: hostname(), pid: process.pid,
      startedAt: new Date(started).toISOString(),
    };
    if (region) return await copyFromRegion(node, region, fs, out, base, env, done);

    await writeStatus(fs, out, "RUNNING");
    if (!node.step.resumable || forced) await clearOldOutputs(fs, out);
    const counters = new CounterSet();
    const abort = new AbortController();
    lease.startHeartbeat((err) => abort.abort(err));
    env.log(`run ${node.name} -> ${out}`);
    let result: unknown;
    let error: unknown;
    try {
      for (const edge of node.deps) {
        if (edge.subPath && !(await pathExists(inputs[edge.input].path))) throw new MissingInputError(node.name, edge.input, inputs[edge.input].path);
      }
      const ctx: StepContext<any, any> = {
        name: node.name, version: node.version, outputPath: out, config: node.config, inputs, fs, counters,
        signal: abort.signal,
        log: (message) => env.log(`  ${node.name}: ${message}`),
        path: (relative) => joinPath(out, relative),
        writeFile: (relative, data) => fs.writeAtomic(joinPath(out, relative), data),
      };
      result = await node.step.run(ctx);
      if (result !== undefined) {
        try {
          toCanonicalValue(result, "result");
        } catch (err) {
          throw new StepResultError(node.name, err);
        }
      }
    } catch (err) {
      error = err;
    }
    lease.stopHeartbeat();
    if (lease.lostError) return done("failed", { error: lease.lostError });
    const ended = Date.now();
    const info: StepInfo = {
      ...base, endedAt: new Date(ended).toISOString(), durationMs: ended - started, counters: counters.snapshot(),
      ...(error === undefined ? { result } : { error: errorInfo(error) }),
    };
    if (error === undefined) await sweepTemporaries(fs, out);
    await writeInfo(fs, out, info);
    if (error !== undefined) {
      await writeStatus(fs, out, "FAILED");
      return done("failed", { error });
    }
    await writeStatus(fs, out, "SUCCESS");
    return done("ran", { result });
  } finally {
    await lease.release();
  }
}

async function copyFromRegion(
  node: StepNode,
  region: { region: string; path: string },
  fs: FileSystem,
  out: string,
  base: Omit<StepInfo, "endedAt" | "durationMs" | "counters">,
  env: RunEnvironment,
  done: (state: OutcomeState, extra?: Partial<StepOutcome>) => StepOutcome,
): Promise<StepOutcome> {
  const files = await listOutputFiles(region.path);
  const bytes = files.reduce((s, f) => s + f.size, 0);
  if (!env.budget.tryReserve(bytes)) {
    return done("failed", { error: new TransferBudgetError(node.name, region.region, bytes, env.budget.left) });
  }
  env.log(`copy ${node.name}: ${files.length} files, ${formatBytes(bytes)} from region ${region.region}`);
  await writeStatus(fs, out, "RUNNING");
  await clearOldOutputs(fs, out);
  await copyOutput(region.path, out, files);
  const source = await readInfo(fileSystemFor(region.path), region.path);
  const ended = Date.now();
  const info: StepInfo = {
    ...base,
    ...(source ?? {}),
    outputPath: out,
    endedAt: source?.endedAt ?? new Date(ended).toISOString(),
    durationMs: source?.durationMs ?? 0,
    counters: source?.counters ?? {},
    provenance: { region: region.region, sourcePath: region.path, bytes, files: files.length, copiedAt: new Date(ended).toISOString(), mode: "copy" },
  };
  await writeInfo(fs, out, info);
  await writeStatus(fs, out, "SUCCESS");
  return done("copied", { result: source?.result, detail: region.region });
}

export type PlanAction = "skip" | "run" | "wait" | "blocked";

/** What a run would do with this step, and why, without changing anything. */
export async function planStep(node: StepNode, env: RunEnvironment): Promise<{ action: PlanAction; reason: string }> {
  const out = joinPath(env.prefix, node.relPath);
  const fs = fileSystemFor(out);
  if (env.isForced(node)) return { action: "run", reason: "forced by --force" };
  const status = await readStatus(fs, out);
  if (status === "SUCCESS") return { action: "skip", reason: "SUCCESS marker present" };
  if (status === "FAILED" && !env.forceFailed) return { action: "blocked", reason: "FAILED in an earlier run; --force-failed reruns it" };
  const region = await findInRegions(env.regions, node.relPath);
  if (region) {
    if (env.regionPolicy === "read") return { action: "skip", reason: `finished in region ${region.region}; read in place` };
    const files = await listOutputFiles(region.path);
    const bytes = files.reduce((s, f) => s + f.size, 0);
    return { action: "skip", reason: `finished in region ${region.region}; copy ${files.length} files (${formatBytes(bytes)})` };
  }
  const lease = await inspectLease(fs, markerPaths(out).lease, env.timing);
  if (lease.state === "live") {
    const h = lease.holder;
    const ago = Math.round((Date.now() - h.heartbeatAt) / 1000);
    return { action: "wait", reason: `running under ${h.owner} (pid ${h.pid} on ${h.host}, heartbeat ${ago} s ago)` };
  }
  if (lease.state === "stale") return { action: "run", reason: `take over stale lease (${lease.reason})` };
  if (status === "FAILED") return { action: "run", reason: "FAILED earlier; rerun by --force-failed" };
  if (status === "RUNNING") return { action: "run", reason: "RUNNING marker without a live lease (a crashed run)" };
  if (status === "DEP_FAILED") return { action: "run", reason: "a dependency failed in an earlier run" };
  return { action: "run", reason: "no SUCCESS marker" };
}
