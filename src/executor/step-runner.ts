/**
 * Runs one step of the DAG: skip it when its SUCCESS marker exists, reuse it from another region,
 * or take its lease, re-read its status, write RUNNING and call `run(ctx)` with `ctx.outputPath`
 * pointing at an attempt's own staging folder (see staging.ts). When `run` succeeds, the staged
 * files are committed into the output folder under the lease's fencing token (commit.ts), then
 * info.json and SUCCESS are written; when it fails, info.json and FAILED. An attempt that lost its
 * lease writes nothing into the output folder. Also answers the dry-run question "what would
 * happen to this step".
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { KilnError } from "../errors.ts";
import { toCanonicalValue } from "../graph/canonical-json.ts";
import type { StepNode } from "../graph/dag.ts";
import type { Input, StepContext } from "../graph/step.ts";
import { fileSystemFor, joinPath, type FileSystem } from "../io/index.ts";
import { commitStaged } from "./commit.ts";
import { CounterSet } from "./counters.ts";
import { inspectLease, Lease, type LeaseTiming } from "./lease.ts";
import { markerPaths, readInfo, readStatus, writeInfo, writeStatus, type StepInfo, type TaskRunRecord } from "./markers.ts";
import { codeChangeNote, codeFingerprint, quietWatch } from "./step-notes.ts";
import { copyOutput, findInRegions, formatBytes, listOutputFiles, TransferBudget, TransferBudgetError, type RegionPolicy } from "./regions.ts";
import { attemptLayout, COMMIT_MARKER, finishAttempt, prepareAttempt, type AttemptLayout } from "./staging.ts";

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
  /** A running step that has logged nothing for this long says it is still running (default 10 s). */
  quietMs: number;
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

/** What every phase of one step's execution needs. */
interface StepScope {
  node: StepNode;
  env: RunEnvironment;
  out: string;
  fs: FileSystem;
  forced: boolean;
  started: number;
  /** Set once this run has warned that the step's finished output came from other code. */
  warned?: boolean;
  done(state: OutcomeState, extra?: Partial<StepOutcome>): StepOutcome;
}

type BaseInfo = Omit<StepInfo, "endedAt" | "durationMs" | "counters">;

/** The outcome decided by the markers alone (SUCCESS: skip; FAILED without --force-failed: fail), or null. */
async function outcomeFromMarkers(s: StepScope): Promise<StepOutcome | null> {
  if (s.forced) return null;
  const status = await readStatus(s.fs, s.out);
  if (status === "SUCCESS") {
    const info = await readInfo(s.fs, s.out);
    const changed = codeChangeNote(s.node, info);
    if (changed && !s.warned) {
      s.warned = true;
      s.env.log(`warning: ${s.node.name} is finished but ${changed}`);
    }
    return s.done("skipped", { result: info?.result });
  }
  if (status === "FAILED" && !s.env.forceFailed) {
    return s.done("failed", { error: new StepFailedEarlierError(s.out, (await readInfo(s.fs, s.out))?.error?.message) });
  }
  return null;
}

/** Takes the step's lease, waiting while another live owner holds it; returns an outcome if the step got decided meanwhile. */
async function acquireLease(s: StepScope, lease: Lease): Promise<StepOutcome | null> {
  let announced = false;
  for (;;) {
    const attempt = await lease.tryAcquire();
    if (attempt.acquired) {
      if (attempt.tookOver) s.env.log(`take over ${s.node.name}: stale lease (${attempt.tookOver}), epoch ${attempt.epoch}`);
      return null;
    }
    if (!announced && attempt.view.state !== "absent") {
      const h = attempt.view.holder;
      s.env.log(`wait ${s.node.name}: running under ${h?.owner ?? "unknown"} (pid ${h?.pid ?? "?"} on ${h?.host ?? "?"})`);
      announced = true;
    }
    await sleep(s.env.pollMs);
    const decided = await outcomeFromMarkers(s);
    if (decided) return decided;
  }
}

/** Runs one step of a run: `executeStep` here, or another executor's (the scheduler's `stepExecutor`). */
export type StepExecutor = (node: StepNode, deps: ReadonlyMap<StepNode, StepOutcome>, env: RunEnvironment) => Promise<StepOutcome>;

export async function executeStep(node: StepNode, deps: ReadonlyMap<StepNode, StepOutcome>, env: RunEnvironment): Promise<StepOutcome> {
  const started = Date.now();
  const out = joinPath(env.prefix, node.relPath);
  const s: StepScope = {
    node, env, out, fs: fileSystemFor(out), forced: env.isForced(node), started,
    done: (state, extra = {}) => ({ node, state, outputPath: out, durationMs: Date.now() - started, ...extra }),
  };
  const early = await outcomeFromMarkers(s);
  if (early) return early;
  const region = s.forced ? null : await findInRegions(env.regions, node.relPath);
  if (region && env.regionPolicy === "read") {
    const info = await readInfo(fileSystemFor(region.path), region.path);
    env.log(`reuse ${node.name}: reading in place from region ${region.region}`);
    return s.done("read-in-place", { outputPath: region.path, result: info?.result, detail: region.region });
  }

  const lease = new Lease(s.fs, markerPaths(out).lease, env.owner, env.timing);
  const decided = await acquireLease(s, lease);
  if (decided) return decided;
  try {
    // Another owner may have finished the step between our last look and taking the lease.
    const finished = await outcomeFromMarkers(s);
    if (finished) return finished;
    return await runAttempt(s, deps, lease, region);
  } finally {
    await lease.release();
  }
}

/** One attempt under the lease: staging and scratch folders, heartbeat, run or region copy, cleanup. */
async function runAttempt(s: StepScope, deps: ReadonlyMap<StepNode, StepOutcome>, lease: Lease, region: { region: string; path: string } | null): Promise<StepOutcome> {
  const { node, env } = s;
  // A region copy never resumes: it stages into a folder of its own.
  const layout = attemptLayout(env.prefix, node.relPath, node.step.resumable && !region);
  const removed = await prepareAttempt(s.fs, layout, s.forced);
  if (removed.length) env.log(`clean ${node.name}: removed ${removed.length} folder(s) left by dead attempts`);
  const abort = new AbortController();
  let committed = false;
  try {
    await lease.startHeartbeat((err) => abort.abort(err));
    const inputs = resolveInputs(node, deps);
    const base: BaseInfo = {
      name: node.name, version: node.version, outputPath: s.out, versionedConfig: node.versionedConfig, config: node.config,
      dependencies: Object.fromEntries(node.deps.map((d) => [d.input, { path: inputs[d.input].path, version: d.node.version }])),
      codeFingerprint: codeFingerprint(node), gitCommit: env.gitCommit, host: hostname(), pid: process.pid,
      startedAt: new Date(s.started).toISOString(), attempt: { id: layout.id, epoch: lease.epoch },
    };
    const outcome = region
      ? await copyFromRegion(s, region, base, lease, layout)
      : await runAndCommit(s, inputs, base, lease, layout, abort.signal);
    committed = outcome.state === "ran" || outcome.state === "copied";
    return outcome;
  } finally {
    await lease.stopHeartbeat().catch(() => undefined);
    // A resumable attempt that did not commit keeps its staging folder for the next one (or for
    // the owner that took the lease over, which is using it now).
    await finishAttempt(s.fs, layout, layout.resumable && !committed);
  }
}

/** Renews the lease, then moves the staged files into the output folder under the fencing token. */
async function commitAttempt(s: StepScope, lease: Lease, layout: AttemptLayout): Promise<void> {
  await lease.renew();
  if (layout.resumable) await s.fs.writeAtomic(joinPath(layout.staging, COMMIT_MARKER), `${layout.id}\n`);
  await commitStaged({ fs: s.fs, step: s.node.name, staging: layout.staging, out: s.out, fence: lease });
}

/** Writes info.json and then the final status, checking the fencing token before each. */
async function writeFinalMarkers(s: StepScope, lease: Lease, info: StepInfo, state: "SUCCESS" | "FAILED"): Promise<void> {
  await lease.verify();
  await writeInfo(s.fs, s.out, info);
  await lease.verify();
  await writeStatus(s.fs, s.out, state);
}

function finalInfo(s: StepScope, base: BaseInfo, counters: CounterSet, end: { result: unknown } | { error: unknown }, tasks: TaskRunRecord[]): StepInfo {
  const ended = Date.now();
  return {
    ...base, endedAt: new Date(ended).toISOString(), durationMs: ended - s.started, counters: counters.snapshot(),
    ...(tasks.length ? { tasks } : {}),
    ...("error" in end ? { error: errorInfo(end.error) } : { result: end.result }),
  };
}

async function callRun(s: StepScope, ctx: StepContext<any, any>): Promise<unknown> {
  for (const edge of s.node.deps) {
    const input = ctx.inputs[edge.input];
    if (edge.subPath && !(await pathExists(input.path))) throw new MissingInputError(s.node.name, edge.input, input.path);
  }
  const result = await s.node.step.run(ctx);
  if (result !== undefined) {
    try {
      toCanonicalValue(result, "result");
    } catch (err) {
      throw new StepResultError(s.node.name, err);
    }
  }
  return result;
}

async function runAndCommit(
  s: StepScope,
  inputs: Record<string, Input<unknown>>,
  base: BaseInfo,
  lease: Lease,
  layout: AttemptLayout,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const { node, env, fs } = s;
  await writeStatus(fs, s.out, "RUNNING");
  env.log(`run ${node.name} -> ${s.out}`);
  const counters = new CounterSet();
  const tasks: TaskRunRecord[] = [];
  const quiet = quietWatch(node.name, env);
  // recordTask: where remote workers ran the step's Dataset tasks (src/dataset/step.ts calls it).
  const ctx: StepContext<any, any> & { recordTask(run: TaskRunRecord): void } = {
    name: node.name, version: node.version, outputPath: layout.staging, workDir: layout.workDir, config: node.config, inputs, fs, counters,
    signal,
    recordTask: (run) => void tasks.push(run),
    log: quiet.log,
    path: (relative) => joinPath(layout.staging, relative),
    writeFile: (relative, data) => fs.writeAtomic(joinPath(layout.staging, relative), data),
  };
  let end: { result: unknown } | { error: unknown };
  try {
    end = { result: await callRun(s, ctx) };
  } catch (error) {
    end = { error };
  } finally {
    quiet.stop();
  }
  if (lease.lostError) return s.done("failed", { error: lease.lostError });
  try {
    if ("result" in end) {
      await commitAttempt(s, lease, layout);
      await writeFinalMarkers(s, lease, finalInfo(s, base, counters, end, tasks), "SUCCESS");
      return s.done("ran", { result: end.result });
    }
  } catch (error) {
    if (lease.lostError) return s.done("failed", { error: lease.lostError });
    end = { error };
  }
  try {
    await writeFinalMarkers(s, lease, finalInfo(s, base, counters, end, tasks), "FAILED");
  } catch (err) {
    if (lease.lostError) return s.done("failed", { error: lease.lostError });
    throw err;
  }
  return s.done("failed", { error: end.error });
}

/** Copies a step finished in another region into staging and commits it into home; info.json then points into home. */
async function copyFromRegion(
  s: StepScope,
  region: { region: string; path: string },
  base: BaseInfo,
  lease: Lease,
  layout: AttemptLayout,
): Promise<StepOutcome> {
  const { node, env } = s;
  const files = await listOutputFiles(region.path);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  if (!env.budget.tryReserve(bytes)) {
    return s.done("failed", { error: new TransferBudgetError(node.name, region.region, bytes, env.budget.left) });
  }
  env.log(`copy ${node.name}: ${files.length} files, ${formatBytes(bytes)} from region ${region.region}`);
  await writeStatus(s.fs, s.out, "RUNNING");
  await copyOutput(region.path, layout.staging, files);
  const source = await readInfo(fileSystemFor(region.path), region.path);
  try {
    await commitAttempt(s, lease, layout);
  } catch (err) {
    return s.done("failed", { error: lease.lostError ?? err });
  }
  const ended = Date.now();
  const info: StepInfo = {
    ...base,
    ...(source ?? {}),
    // The copy's own facts: where it lives now, what it read from home, which attempt wrote it.
    outputPath: s.out,
    dependencies: base.dependencies,
    attempt: base.attempt,
    endedAt: source?.endedAt ?? new Date(ended).toISOString(),
    durationMs: source?.durationMs ?? 0,
    counters: source?.counters ?? {},
    provenance: { region: region.region, sourcePath: region.path, bytes, files: files.length, copiedAt: new Date(ended).toISOString(), mode: "copy" },
  };
  try {
    await writeFinalMarkers(s, lease, info, "SUCCESS");
  } catch (err) {
    return s.done("failed", { error: lease.lostError ?? err });
  }
  return s.done("copied", { result: source?.result, detail: region.region });
}

export type PlanAction = "skip" | "run" | "wait" | "blocked";

/** What a run would do with this step, and why, without changing anything. */
export async function planStep(node: StepNode, env: RunEnvironment): Promise<{ action: PlanAction; reason: string }> {
  const out = joinPath(env.prefix, node.relPath);
  const fs = fileSystemFor(out);
  if (env.isForced(node)) return { action: "run", reason: "forced by --force" };
  const status = await readStatus(fs, out);
  if (status === "SUCCESS") {
    const changed = codeChangeNote(node, await readInfo(fs, out));
    return { action: "skip", reason: changed ? `SUCCESS marker present, but ${changed}` : "SUCCESS marker present" };
  }
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
