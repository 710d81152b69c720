/**
 * The marker files kept next to every step's output, exactly as DESIGN.md fixes them:
 * `<output>/.kiln/status` (SUCCESS | FAILED | RUNNING | DEP_FAILED), `<output>/.kiln/lease` and
 * `<output>/.kiln/info.json`. Every write is atomic; SUCCESS is only ever written after the
 * outputs were committed and info.json written, so its presence means the step is complete.
 */
import { isNotFound, joinPath, type FileSystem } from "../io/index.ts";
import type { TaskRunRecord } from "../util/task-run.ts";

export type { TaskRunRecord } from "../util/task-run.ts";

export type StepState = "SUCCESS" | "FAILED" | "RUNNING" | "DEP_FAILED";
const STATES = new Set<string>(["SUCCESS", "FAILED", "RUNNING", "DEP_FAILED"]);

export const MARKER_DIR = ".kiln";

export function markerPaths(outputPath: string) {
  const dir = joinPath(outputPath, MARKER_DIR);
  return {
    dir,
    status: joinPath(dir, "status"),
    lease: joinPath(dir, "lease"),
    info: joinPath(dir, "info.json"),
  };
}

/** The step's state, or null when there is no status marker (never run, or unreadable). */
export async function readStatus(fs: FileSystem, outputPath: string): Promise<StepState | null> {
  let text: string;
  try {
    text = (await fs.read(markerPaths(outputPath).status)).toString("utf8").trim();
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  return STATES.has(text) ? (text as StepState) : null;
}

export async function writeStatus(fs: FileSystem, outputPath: string, state: StepState): Promise<void> {
  await fs.writeAtomic(markerPaths(outputPath).status, `${state}\n`);
}

/** What info.json holds about one execution of a step. */
export interface StepInfo {
  name: string;
  version: string;
  outputPath: string;
  versionedConfig: Record<string, unknown>;
  config: unknown;
  dependencies: Record<string, { path: string; version: string }>;
  codeFingerprint: string;
  gitCommit: string | null;
  host: string;
  pid: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  counters: Record<string, number>;
  result?: unknown;
  error?: { message: string; code?: string; stack?: string };
  /** The attempt that wrote this: its id (names its host and pid) and its lease epoch. */
  attempt?: { id: string; epoch: number };
  /** Tasks that remote workers ran for this step: which worker ran which task, and when. */
  tasks?: TaskRunRecord[];
  /** Set when the output was copied from (or is read in) another storage region. */
  provenance?: { region: string; sourcePath: string; bytes: number; files: number; copiedAt: string; mode: "copy" | "read" };
}

export async function readInfo(fs: FileSystem, outputPath: string): Promise<StepInfo | null> {
  try {
    return JSON.parse((await fs.read(markerPaths(outputPath).info)).toString("utf8")) as StepInfo;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** JSON for info.json: functions and other non-JSON values in the resolved config are shown, not dropped silently. */
export function infoToJson(info: StepInfo): string {
  return JSON.stringify(
    info,
    (_key, value) => {
      if (typeof value === "function") return `<function ${value.name || "anonymous"}>`;
      if (typeof value === "bigint") return value.toString();
      if (typeof value === "symbol") return value.toString();
      if (value instanceof Map) return Object.fromEntries(value);
      if (value instanceof Set) return [...value];
      return value;
    },
    2,
  );
}

export async function writeInfo(fs: FileSystem, outputPath: string, info: StepInfo): Promise<void> {
  await fs.writeAtomic(markerPaths(outputPath).info, infoToJson(info) + "\n");
}
