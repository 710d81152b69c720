/**
 * The run report: one self-contained HTML file per pipeline at `<prefix>/reports/<pipeline>.html`
 * showing the DAG with step states, the timeline, counters, data per source and stage, filters,
 * training loss, bits per byte and, when present, the mixture search. `writeRunReport` gathers the
 * markers, renders every section and writes the file atomically; it works on partial and failed
 * runs alike, since every section reads only what finished.
 */
import type { Graph } from "../graph/dag.ts";
import { fileSystemFor, joinPath } from "../io/index.ts";
import { formatTime } from "./format.ts";
import { gatherRunData, type RunReportData } from "./gather.ts";
import { escapeHtml, renderPage, type Section } from "./html.ts";
import { dataSection } from "./sections/data.ts";
import { mixtureSection } from "./sections/mixture.ts";
import { evaluationSection, trainingSection } from "./sections/model.ts";
import { stepsSection } from "./sections/steps.ts";
import { countersSection, timelineSection } from "./sections/timeline.ts";

export { gatherRunData, type RunReportData, type StepRecord } from "./gather.ts";
export { MIXTURE_SWARM_KIND, type MixtureSwarmResult } from "./results.ts";

export interface WriteRunReportOptions {
  /** The pipeline (or its name): names the file and titles the page. */
  pipeline: string | { name: string };
  graph: Graph;
  /** Home prefix of the run. */
  prefix: string;
  /** Other region prefixes, for steps finished only there. */
  regions?: readonly string[];
}

/** `<prefix>/reports/<pipeline name>.html`, with characters other than letters, digits, `.`, `_`, `-` replaced. */
export function reportPath(prefix: string, pipelineName: string): string {
  const safe = pipelineName.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_") || "pipeline";
  return joinPath(prefix, "reports", `${safe}.html`);
}

/** The report page for gathered run data. */
export function renderRunReport(data: RunReportData): string {
  const sections: Section[] = [
    stepsSection(data),
    timelineSection(data),
    dataSection(data),
    trainingSection(data),
    evaluationSection(data),
    ...[mixtureSection(data)].filter((s): s is Section => s !== null),
    countersSection(data),
  ];
  return renderPage({
    title: `kiln run report: ${data.pipeline}`,
    header: `prefix ${escapeHtml(data.prefix)} · generated ${escapeHtml(formatTime(data.generatedAt))}`,
    sections,
  });
}

/** Gathers the run's markers, renders the report and writes it; returns the file's path. */
export async function writeRunReport(opts: WriteRunReportOptions): Promise<string> {
  const name = typeof opts.pipeline === "string" ? opts.pipeline : opts.pipeline.name;
  const data = await gatherRunData({ pipeline: name, graph: opts.graph, prefix: opts.prefix, regions: opts.regions });
  const file = reportPath(opts.prefix, name);
  await fileSystemFor(file).writeAtomic(file, renderRunReport(data));
  return file;
}
