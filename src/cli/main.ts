/**
 * The `kiln` command line: `kiln run`, `kiln status` and `kiln graph` over a pipeline module, and
 * `kiln --version` (`kiln worker`, `kiln workers` and run's `--redis`: worker-commands.ts). Parses options, loads the pipeline, and prints results; every error a user can
 * cause (a module that fails to import, a missing dependency, an unknown --only step) is printed
 * with what to do, and the exit code is non-zero.
 */
import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { describeError, KilnError } from "../errors.ts";
import { buildGraph, toMermaid, type Graph } from "../graph/dag.ts";
import { loadPipeline, type Pipeline } from "../graph/pipeline.ts";
import { planRun, runGraph, selectSteps, type RunOptions } from "../executor/scheduler.ts";
import { stepStatusTable } from "../executor/status.ts";
import { describeRunFailures, runReportHook } from "./run-output.ts";
import { registerReportCommands, resolvePrefixOption } from "./report-commands.ts";
import { openRunLog, type RunLog } from "./run-log.ts";
import { closeSharedPools } from "../dataset/exec/pool.ts";
import { formatTable } from "./table.ts";
import { addRedisRunFlags, openRedisRun, registerWorkerCommands, type RedisRunFlags } from "./worker-commands.ts";

class UsageError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_USAGE", message, hint);
  }
}

function intOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
}

function bytesOption(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError("expected a size such as 500MB or 20GiB");
  const unit = (m[2] ?? "b").toLowerCase()[0];
  const scale = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit] ?? 1;
  return Math.round(Number(m[1]) * scale);
}

function regexOption(value: string, previous: RegExp[] = []): RegExp[] {
  try {
    return [...previous, new RegExp(value)];
  } catch (err) {
    throw new InvalidArgumentError(`not a valid regular expression: ${(err as Error).message}`);
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

interface CommonFlags {
  prefix?: string;
  region?: string[];
  regionPolicy?: "copy" | "read";
  transferBudget?: number;
  maxConcurrent?: number;
  only?: RegExp[];
  force?: string[];
  forceFailed?: boolean;
  dryRun?: boolean;
  leaseHeartbeatMs?: number;
  leaseStaleMs?: number;
  pollMs?: number;
}

/** The version in kiln's package.json. */
function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const version = typeof manifest === "object" && manifest !== null && "version" in manifest ? manifest.version : undefined;
  return typeof version === "string" ? version : "unknown";
}

async function load(file: string): Promise<{ pipeline: Pipeline; graph: Graph }> {
  const pipeline = await loadPipeline(file);
  return { pipeline, graph: buildGraph(pipeline.steps) };
}

function runOptions(flags: CommonFlags, pipeline: Pipeline, graph: Graph, log: (l: string) => void): RunOptions {
  const prefix = resolvePrefixOption(flags.prefix, pipeline);
  const force = (flags.force ?? []).map((name) => new RegExp(`^(?:${name})$`));
  for (const [i, re] of force.entries()) {
    if (!graph.nodes.some((n) => re.test(n.name))) {
      throw new UsageError(`--force ${flags.force![i]} names no step`, `step names: ${[...graph.byName.keys()].join(", ")}`);
    }
  }
  return {
    prefix,
    regions: (flags.region ?? []).map((r) => resolvePrefixOption(r)),
    regionPolicy: flags.regionPolicy,
    transferBudgetBytes: flags.transferBudget,
    maxConcurrent: flags.maxConcurrent,
    only: flags.only,
    force,
    forceFailed: flags.forceFailed,
    dryRun: flags.dryRun,
    lease: { ...(flags.leaseHeartbeatMs ? { heartbeatMs: flags.leaseHeartbeatMs } : {}), ...(flags.leaseStaleMs ? { staleMs: flags.leaseStaleMs } : {}) },
    pollMs: flags.pollMs,
    log,
  };
}

function addRunFlags(cmd: Command): Command {
  return cmd
    .option("--prefix <path>", "home storage prefix (default: $KILN_PREFIX, the pipeline's prefix, or ./kiln-output)")
    .option("--region <path>", "another region's prefix to reuse finished steps from (repeatable)", collect)
    .addOption(new Option("--region-policy <policy>", "copy outputs found in another region home, or read them in place").choices(["copy", "read"]).default("copy"))
    .option("--transfer-budget <bytes>", "most bytes to copy from other regions in this run (default 100GiB)", bytesOption)
    .option("--only <regex>", "run only matching steps and their dependencies (repeatable)", regexOption)
    .option("--lease-heartbeat-ms <ms>", "lease heartbeat interval", intOption)
    .option("--lease-stale-ms <ms>", "lease age after which another run takes the step over", intOption)
    .option("--poll-ms <ms>", "how often a step waiting on another run's lease looks again", intOption);
}

export async function main(argv: string[]): Promise<number> {
  // Everything the run prints on stderr also goes to its log under the prefix, once one is open.
  let runLog: RunLog | undefined;
  const err = (text: string) => {
    process.stderr.write(text);
    runLog?.write(text);
  };
  const log = (line: string) => err(`[kiln ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const program = new Command("kiln")
    .description("Declarative dataflow engine for LLM data pipelines")
    .version(packageVersion(), "-V, --version", "print kiln's version")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let exitCode = 0;
  registerReportCommands(program);
  registerWorkerCommands(program, log);

  addRedisRunFlags(addRunFlags(program.command("run <pipeline>").description("run a pipeline module's steps")))
    .option("--max-concurrent <n>", "most steps running at once", intOption, 8)
    .option("--dry-run", "print what each step would do, and why, without running anything")
    .option("--force <step>", "rerun this step (name or regex, whole name) even if it succeeded (repeatable)", collect)
    .option("--force-failed", "rerun steps that failed in an earlier run")
    .action(async (file: string, flags: CommonFlags & RedisRunFlags) => {
      const { pipeline, graph } = await load(file);
      const opts = runOptions(flags, pipeline, graph, log);
      if (flags.dryRun) {
        const plans = await planRun(graph, opts);
        process.stdout.write(`${formatTable(["step", "action", "reason", "output"], plans.map((p) => [p.node.name, p.action, p.reason, p.outputPath]))}\n`);
        return;
      }
      runLog = openRunLog(opts.prefix, pipeline.name);
      log(`pipeline ${pipeline.name}: ${selectSteps(graph, opts).length} steps, prefix ${opts.prefix}, log ${runLog.path}`);
      // With --redis the steps run on kiln workers (src/distributed); without it, in this process.
      const remote = await openRedisRun(flags, file, opts.prefix, log);
      const summary = await runGraph(graph, { ...opts, stepExecutor: remote?.stepExecutor }).finally(() => Promise.all([closeSharedPools(), remote?.close()]));
      const count = (s: string) => summary.outcomes.filter((o) => o.state === s).length;
      log(`ran ${count("ran")}, skipped ${count("skipped")}, copied ${count("copied")}, read in place ${count("read-in-place")}, failed ${count("failed")}, not run (dependency failed) ${count("dep-failed")}`);
      const reported = await runReportHook(pipeline, summary, err);
      // The report module is loaded only now: every other command starts without it.
      const { writeRunReport } = await import("../report/index.ts");
      await writeRunReport({ pipeline, graph, prefix: opts.prefix, regions: opts.regions }).then(
        (file) => log(`run report: ${file}`),
        (err: unknown) => log(`could not write the run report: ${describeError(err)}`),
      );
      if (!summary.ok) err(await describeRunFailures(summary));
      if (!summary.ok || !reported) exitCode = 1;
      await runLog.close().catch((e: unknown) => process.stderr.write(`could not upload the run log: ${describeError(e)}\n`));
    });

  addRunFlags(program.command("status <pipeline>").description("show each step's state, output path and duration")).action(
    async (file: string, flags: CommonFlags) => {
      const { pipeline, graph } = await load(file);
      const opts = runOptions(flags, pipeline, graph, log);
      const rows = await stepStatusTable(selectSteps(graph, opts), opts);
      process.stdout.write(`${formatTable(["step", "state", "output", "duration"], rows.map((r) => [r.name, r.state, r.outputPath, r.duration]))}\n`);
    },
  );

  program
    .command("graph <pipeline>")
    .description("print the step DAG as Mermaid text")
    .action(async (file: string) => {
      const { graph } = await load(file);
      process.stdout.write(toMermaid(graph));
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help") return 0;
    if (typeof code === "string" && code.startsWith("commander.")) return 2;
    process.stderr.write(`kiln: ${describeError(err)}\n`);
    return err instanceof KilnError ? 2 : 1;
  }
  return exitCode;
}
