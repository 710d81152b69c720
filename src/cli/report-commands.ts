/**
 * The `kiln report` and `kiln lineage` commands, registered on a commander program by
 * `registerReportCommands`. `report` writes the run report (one self-contained HTML file) under the
 * prefix and prints its path; `lineage` prints the chain from an output path or a step's output
 * back to the downloaded files, as a tree or as JSON. Errors a user can cause are KilnErrors, which
 * the program's caller prints with their hint.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { buildGraph, type Graph } from "../graph/dag.ts";
import { loadPipeline, type Pipeline } from "../graph/pipeline.ts";
import { schemeOf } from "../io/index.ts";

/** The report modules, loaded when a command needs them (they cost start-up time every other command would pay). */
const reportModule = () => import("../report/index.ts");
const lineageModule = () => import("../report/lineage/index.ts");

export interface ReportCommandOutput {
  /** Where results go (default: process.stdout). */
  stdout?: (text: string) => void;
}

/** A prefix as the other commands take it: local paths made absolute, trailing slashes dropped. */
export function resolvePrefixOption(flag: string | undefined, pipeline?: Pipeline): string {
  const p = flag ?? process.env.KILN_PREFIX ?? pipeline?.prefix ?? "kiln-output";
  return schemeOf(p) === "file" ? path.resolve(p) : p.replace(/\/+$/, "");
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** An output path (anything that exists, or a URL) rather than a step name. */
function looksLikePath(target: string): boolean {
  return schemeOf(target) !== "file" || existsSync(target);
}

export function registerReportCommands(program: Command, output: ReportCommandOutput = {}): void {
  const write = output.stdout ?? ((text: string) => void process.stdout.write(text));

  program
    .command("report <pipeline>")
    .description("write the run report (one self-contained HTML file under <prefix>/reports/) and print its path")
    .option("--prefix <path>", "home storage prefix (default: $KILN_PREFIX, the pipeline's prefix, or ./kiln-output)")
    .option("--region <path>", "another region's prefix holding finished steps (repeatable)", collect)
    .action(async (file: string, flags: { prefix?: string; region?: string[] }) => {
      const pipeline = await loadPipeline(file);
      const prefix = resolvePrefixOption(flags.prefix, pipeline);
      const regions = (flags.region ?? []).map((r) => resolvePrefixOption(r));
      const { writeRunReport } = await reportModule();
      const report = await writeRunReport({ pipeline, graph: buildGraph(pipeline.steps), prefix, regions });
      write(`${report}\n`);
    });

  program
    .command("lineage <target>")
    .description("trace an output path, or a step's output, back through its inputs to the downloaded files")
    .option("--json", "print the lineage as JSON")
    .option("--prefix <path>", "prefix to find a named step's output under (default: $KILN_PREFIX, the pipeline's prefix, or ./kiln-output)")
    .option("--pipeline <file>", "pipeline module defining the named step (picks its version)")
    .action(async (target: string, flags: { json?: boolean; prefix?: string; pipeline?: string }) => {
      const { formatLineage, lineageOfPath, lineageOfStep } = await lineageModule();
      let lineage;
      if (looksLikePath(target)) {
        lineage = await lineageOfPath(target);
      } else {
        let pipeline: Pipeline | undefined;
        let graph: Graph | undefined;
        if (flags.pipeline) {
          pipeline = await loadPipeline(flags.pipeline);
          graph = buildGraph(pipeline.steps);
        }
        lineage = await lineageOfStep(target, resolvePrefixOption(flags.prefix, pipeline), graph);
      }
      write(flags.json ? `${JSON.stringify(lineage, null, 2)}\n` : formatLineage(lineage));
    });
}
