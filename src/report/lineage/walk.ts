/**
 * Lineage: from an output (a file or folder inside a step's output, or the output of a named step)
 * back through every input to the downloaded files. Each step's `.kiln/info.json` names its inputs
 * (`dependencies[*].path`); a dependency path may point below the input step's folder, so each is
 * walked up to the folder holding `.kiln/info.json`. A step copied from another region keeps its
 * `provenance`; when its recorded input paths still point into that region, the same relative path
 * under the home prefix is preferred when a finished copy exists there, else the recorded path is
 * followed. Steps reached twice (diamonds in the DAG) are expanded once and referenced after.
 */
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { KilnError } from "../../errors.ts";
import type { Graph } from "../../graph/dag.ts";
import { fileSystemFor, joinPath, schemeOf } from "../../io/index.ts";
import { markerPaths, readInfo, readStatus, type StepInfo, type StepState } from "../../executor/markers.ts";
import { downloadResultSchema, resultAs, type DownloadFiles } from "../results.ts";

export class LineageError extends KilnError {}

export interface LineageRef {
  name: string;
  version: string;
  outputPath: string;
}

export interface LineageStep extends LineageRef {
  state: StepState | null;
  versionedConfig: Record<string, unknown>;
  codeFingerprint: string;
  gitCommit: string | null;
  host: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  counters: Record<string, number>;
  /** Where a copied (or read-in-place) output came from. */
  provenance?: StepInfo["provenance"];
  /** Downloaded files (from a download step's result), narrowed to the sub-path a consumer read. */
  files?: DownloadFiles;
  inputs: LineageInput[];
}

interface InputBase {
  input: string;
  /** The path followed. */
  path: string;
  /** The path info.json records, when another one was followed (a region copy's input found at home). */
  recordedPath?: string;
}

export type LineageInput =
  | (InputBase & { step: LineageStep })
  | (InputBase & { seeAbove: LineageRef })
  | (InputBase & { missing: string });

export interface Lineage {
  /** What was asked for: a path or a step name. */
  target: string;
  /** The target below the root step's output folder, when it is not the folder itself. */
  file?: string;
  root: LineageStep;
}

function parentOf(p: string): string | null {
  const trimmed = p.replace(/\/+$/, "");
  if (schemeOf(trimmed) === "file") {
    const up = path.dirname(trimmed);
    return up === trimmed ? null : up;
  }
  const cut = trimmed.lastIndexOf("/");
  return cut > trimmed.indexOf("://") + 2 ? trimmed.slice(0, cut) : null;
}

/** The nearest folder at or above `target` holding `.kiln/info.json`, or null. */
export async function findStepFolder(target: string): Promise<string | null> {
  const fs = fileSystemFor(target);
  for (let dir: string | null = target.replace(/\/+$/, ""); dir; dir = parentOf(dir)) {
    if (await fs.exists(markerPaths(dir).info)) return dir;
  }
  return null;
}

/** Where to look for an input of `info`: home first when `info` was copied from another region. */
function candidatePaths(recorded: string, info: StepInfo): string[] {
  const p = info.provenance;
  if (!p) return [recorded];
  const region = p.region.replace(/\/+$/, "");
  const within = (x: string) => x.startsWith(region + "/");
  if (!within(recorded) || !within(p.sourcePath)) return [recorded];
  const suffix = p.sourcePath.slice(region.length);
  if (!info.outputPath.endsWith(suffix)) return [recorded];
  const home = info.outputPath.slice(0, info.outputPath.length - suffix.length);
  return [home + recorded.slice(region.length), recorded];
}

function relativeBelow(folder: string, target: string): string | undefined {
  const base = folder.replace(/\/+$/, "");
  return target.startsWith(base + "/") ? target.slice(base.length + 1) : undefined;
}

async function describeStep(folder: string, info: StepInfo, focus: string | undefined, seen: Map<string, LineageRef>): Promise<LineageStep> {
  const ref = { name: info.name, version: info.version, outputPath: folder };
  seen.set(folder, ref);
  const download = resultAs(downloadResultSchema, info.result);
  const files = download?.files.filter((f) => !focus || f.path === focus || f.path.startsWith(focus.replace(/\/+$/, "") + "/"));
  const inputs: LineageInput[] = [];
  for (const [input, dep] of Object.entries(info.dependencies ?? {})) inputs.push(await followInput(input, dep.path, info, seen));
  return {
    ...ref,
    state: await readStatus(fileSystemFor(folder), folder),
    versionedConfig: info.versionedConfig,
    codeFingerprint: info.codeFingerprint,
    gitCommit: info.gitCommit,
    host: info.host,
    startedAt: info.startedAt,
    endedAt: info.endedAt,
    durationMs: info.durationMs,
    counters: info.counters,
    ...(info.provenance ? { provenance: info.provenance } : {}),
    ...(files ? { files } : {}),
    inputs,
  };
}

async function followInput(input: string, recorded: string, consumer: StepInfo, seen: Map<string, LineageRef>): Promise<LineageInput> {
  for (const candidate of candidatePaths(recorded, consumer)) {
    const folder = await findStepFolder(candidate);
    if (!folder) continue;
    const base = { input, path: candidate, ...(candidate !== recorded ? { recordedPath: recorded } : {}) };
    const known = seen.get(folder);
    if (known) return { ...base, seeAbove: known };
    const info = await readInfo(fileSystemFor(folder), folder);
    if (!info) continue;
    return { ...base, step: await describeStep(folder, info, relativeBelow(folder, candidate), seen) };
  }
  return { input, path: recorded, missing: `no .kiln/info.json at or above ${recorded}` };
}

/** The lineage of an output path (a step's folder, or anything below it). */
export async function lineageOfPath(target: string): Promise<Lineage> {
  const absolute = schemeOf(target) === "file" ? path.resolve(target) : target;
  const folder = await findStepFolder(absolute);
  const info = folder ? await readInfo(fileSystemFor(folder), folder) : null;
  if (!folder || !info) {
    throw new LineageError(
      "KILN_LINEAGE_NOT_FOUND",
      `no step output holds ${absolute}: there is no .kiln/info.json in it or in any folder above it`,
      "give a path inside a finished step's output folder, or a step name (with --prefix, and --pipeline to pick its version)",
    );
  }
  const file = relativeBelow(folder, absolute);
  return { target, ...(file ? { file } : {}), root: await describeStep(folder, info, file, new Map()) };
}

/** Output folders of step `name` under `prefix`: the pipeline's version when a graph is given, else every `<name>-<hash8>`. */
export async function stepOutputs(name: string, prefix: string, graph?: Graph): Promise<string[]> {
  if (graph) {
    const nodes = graph.byName.get(name);
    if (!nodes?.length) {
      throw new LineageError("KILN_LINEAGE_NO_STEP", `the pipeline has no step named '${name}'`, `step names: ${[...graph.byName.keys()].join(", ")}`);
    }
    return nodes.map((n) => joinPath(prefix, n.relPath));
  }
  const parent = joinPath(prefix, path.posix.dirname(name));
  const leaf = path.posix.basename(name);
  const pattern = new RegExp(`^${leaf.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-f]{8}$`);
  let names: string[];
  if (schemeOf(parent) === "file") {
    names = existsSync(parent) ? readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  } else {
    const marker = `/.kiln/info.json`;
    names = (await fileSystemFor(parent).list(parent))
      .filter((f) => f.path.endsWith(marker))
      .map((f) => f.path.slice(parent.length + 1, -marker.length))
      .filter((rel) => !rel.includes("/"));
  }
  return names.filter((n) => pattern.test(n)).sort().map((n) => joinPath(parent, n));
}

/** The lineage of the output of step `name` under `prefix`. */
export async function lineageOfStep(name: string, prefix: string, graph?: Graph): Promise<Lineage> {
  const outputs = await stepOutputs(name, prefix, graph);
  const finished: string[] = [];
  for (const out of outputs) if (await fileSystemFor(out).exists(markerPaths(out).info)) finished.push(out);
  if (finished.length === 1) return { ...(await lineageOfPath(finished[0])), target: name };
  if (!finished.length) {
    throw new LineageError(
      "KILN_LINEAGE_NOT_RUN",
      `step '${name}' has no recorded run under ${prefix}${outputs.length ? ` (looked in ${outputs.join(", ")})` : ""}`,
      "run the pipeline first, or check --prefix",
    );
  }
  throw new LineageError(
    "KILN_LINEAGE_AMBIGUOUS",
    `step '${name}' has ${finished.length} outputs under ${prefix}: ${finished.join(", ")}`,
    "pass --pipeline to pick the version the pipeline defines, or give one of these paths",
  );
}
