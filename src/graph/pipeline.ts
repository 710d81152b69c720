/**
 * Pipelines: a named set of steps, plus the loader that turns a pipeline module into one. A module
 * may `export default pipeline({...})`, export a `pipeline` object, or simply export steps (and
 * arrays or records of steps); every exported step and its transitive inputs are part of the run.
 * The kiln command loads the module as an ES module wherever it lives (see pipeline-hooks.mjs).
 */
import { pathToFileURL } from "node:url";
import * as path from "node:path";
import { existsSync } from "node:fs";
import { PipelineLoadError, pipelineImportError } from "./load-errors.ts";
import type { PipelineRun } from "./pipeline-run.ts";
import { isStep, type AnyStep } from "./step.ts";

export { PipelineLoadError } from "./load-errors.ts";

export interface PipelineSpec {
  name: string;
  steps: AnyStep[];
  /** Default home prefix for this pipeline; `--prefix` and KILN_PREFIX override it. */
  prefix?: string;
  /**
   * Called after a run, also a failed one, with every selected step's outcome, e.g. to print a
   * summary table: `run.resultOf(step)` is that step's typed result (undefined if it has none).
   */
  report?: (run: PipelineRun) => void | Promise<void>;
}

export interface Pipeline extends PipelineSpec {
  readonly kind: "kiln.pipeline";
}

export function pipeline(spec: PipelineSpec): Pipeline {
  return { kind: "kiln.pipeline", ...spec };
}

export function isPipeline(v: unknown): v is Pipeline {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "kiln.pipeline";
}

function collectSteps(value: unknown, out: AnyStep[], depth = 0): void {
  if (isStep(value)) out.push(value);
  else if (depth < 2 && Array.isArray(value)) value.forEach((v) => collectSteps(v, out, depth + 1));
  else if (depth < 2 && value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    Object.values(value).forEach((v) => collectSteps(v, out, depth + 1));
  }
}

/** Turns a module namespace into a pipeline. */
export function pipelineFromModule(mod: Record<string, unknown>, file: string): Pipeline {
  if (isPipeline(mod.default)) return mod.default;
  if (isPipeline(mod.pipeline)) return mod.pipeline;
  const steps: AnyStep[] = [];
  for (const key of Object.keys(mod).sort()) collectSteps(mod[key], steps);
  if (!steps.length) {
    throw new PipelineLoadError(
      `${file} exports no steps and no pipeline`,
      "export your steps (export const tokenize = step({...})) or `export default pipeline({ name, steps })`",
    );
  }
  return pipeline({ name: path.basename(file).replace(/\.[cm]?[jt]s$/, ""), steps });
}

/** Imports a pipeline module (TypeScript is loaded through tsx) and returns its pipeline. */
export async function loadPipeline(file: string): Promise<Pipeline> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) {
    throw new PipelineLoadError(`pipeline module not found: ${abs}`, "give the path of a .ts or .js file that exports steps");
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (err) {
    throw pipelineImportError(file, err);
  }
  return pipelineFromModule(mod, file);
}
