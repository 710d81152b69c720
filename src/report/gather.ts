/**
 * Data gathering for the run report: for every step of a pipeline's DAG, its state from the status
 * marker (or SUCCESS in another region), its info.json (times, counters, result, error, provenance)
 * and, where the output folder holds a trainer's metrics.jsonl, the loss per optimizer step. Only
 * markers and small files are read; a step that never ran is simply NOT_RUN. Nothing here knows
 * about HTML.
 */
import pLimit from "p-limit";
import type { Graph, StepNode } from "../graph/dag.ts";
import { fileSystemFor, isNotFound, joinPath } from "../io/index.ts";
import { readInfo, readStatus, type StepInfo, type StepState } from "../executor/markers.ts";
import { findInRegions } from "../executor/regions.ts";
import { metricsStepSchema, resultAs } from "./results.ts";

export type ReportState = StepState | "NOT_RUN";

export interface LossCurve {
  /** (optimizer step, loss) pairs, thinned to at most MAX_LOSS_POINTS. */
  points: Array<[number, number]>;
  /** Step lines in the file (before thinning). */
  total: number;
  /** Lines whose loss was not a finite number. */
  nonFinite: number;
}

export interface StepRecord {
  name: string;
  version: string;
  relPath: string;
  /** Where the markers were read: the home output, or the other region's when found only there. */
  outputPath: string;
  /** Set when the step is finished only in this other region. */
  region?: string;
  state: ReportState;
  deps: Array<{ input: string; relPath: string; subPath?: string }>;
  /** info.json of the attempt the state refers to (SUCCESS or FAILED only). */
  info: StepInfo | null;
  loss: LossCurve | null;
  /** Why a marker or metrics file that exists could not be read (the report shows the rest). */
  problem?: string;
}

export interface RunReportData {
  pipeline: string;
  prefix: string;
  generatedAt: string;
  steps: StepRecord[];
}

export interface GatherOptions {
  pipeline: string;
  graph: Graph;
  prefix: string;
  /** Other region prefixes, searched (in order) for steps not finished at home. */
  regions?: readonly string[];
}

export const METRICS_FILE = "metrics.jsonl";
export const MAX_LOSS_POINTS = 2000;

/** Every step of the graph, in the graph's topological order, with what its markers say. */
export async function gatherRunData(opts: GatherOptions): Promise<RunReportData> {
  const limit = pLimit(16);
  const steps = await Promise.all(opts.graph.nodes.map((node) => limit(() => gatherStep(node, opts.prefix, opts.regions ?? []))));
  return { pipeline: opts.pipeline, prefix: opts.prefix, generatedAt: new Date().toISOString(), steps };
}

async function gatherStep(node: StepNode, prefix: string, regions: readonly string[]): Promise<StepRecord> {
  let outputPath = joinPath(prefix, node.relPath);
  let region: string | undefined;
  let state: ReportState = (await readStatus(fileSystemFor(outputPath), outputPath)) ?? "NOT_RUN";
  if (state !== "SUCCESS" && regions.length) {
    const found = await findInRegions(regions, node.relPath);
    if (found) {
      outputPath = found.path;
      region = found.region;
      state = "SUCCESS";
    }
  }
  const fs = fileSystemFor(outputPath);
  const problems: string[] = [];
  const attempt = async <T>(what: string, read: () => Promise<T | null>): Promise<T | null> => {
    try {
      return await read();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  };
  const info = state === "SUCCESS" || state === "FAILED" ? await attempt("unreadable .kiln/info.json", () => readInfo(fs, outputPath)) : null;
  const loss = await attempt(`unreadable ${METRICS_FILE}`, () => readLossCurve(joinPath(outputPath, METRICS_FILE)));
  return {
    name: node.name,
    version: node.version,
    relPath: node.relPath,
    outputPath,
    ...(region ? { region } : {}),
    state,
    deps: node.deps.map((d) => ({ input: d.input, relPath: d.node.relPath, ...(d.subPath ? { subPath: d.subPath } : {}) })),
    info,
    loss,
    ...(problems.length ? { problem: problems.join("; ") } : {}),
  };
}

/** The loss per step from a trainer's metrics.jsonl, or null when the file does not exist. */
export async function readLossCurve(file: string): Promise<LossCurve | null> {
  let text: string;
  try {
    text = (await fileSystemFor(file).read(file)).toString("utf8");
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  const all: Array<[number, number]> = [];
  let nonFinite = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a line cut short by a killed trainer; the trainer drops it on resume
    }
    const event = resultAs(metricsStepSchema, parsed);
    if (!event) continue;
    if (typeof event.loss === "number" && Number.isFinite(event.loss)) all.push([event.step, event.loss]);
    else nonFinite++;
  }
  return { points: thin(all, MAX_LOSS_POINTS), total: all.length + nonFinite, nonFinite };
}

/** Every k-th point so that at most `max` remain, always keeping the last one. */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const every = Math.ceil(points.length / (max - 1));
  const out = points.filter((_, i) => i % every === 0);
  out.push(points[points.length - 1]);
  return out;
}
