/**
 * Runs a Node command in its own process and measures it from the outside: wall time from spawn to
 * exit, and, written by the preloaded usage-at-exit.mjs, the process's user + system CPU (every
 * thread, worker threads included) and its peak RSS (one number for the whole process, which its
 * worker threads share). `runKilnSteps` runs `kiln run` of a pipeline on the steps matching a
 * pattern and reads each step's own duration from its info.json.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { KilnError } from "../../src/errors.ts";

const PRELOAD = new URL("./usage-at-exit.mjs", import.meta.url).href;
const KEEP_OUTPUT_CHARS = 200_000;

export interface ProcessUsage {
  wallSeconds: number;
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  peakRssMB: number;
}

export interface MeasuredProcess extends ProcessUsage {
  exitCode: number | null;
  /** The last KEEP_OUTPUT_CHARS characters the process wrote to stderr. */
  stderr: string;
}

export class MeasuredRunError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_BENCH_RUN", message, hint);
  }
}

interface UsageFile {
  userMicros: number;
  systemMicros: number;
  maxRssKiB: number;
}

function isUsageFile(value: unknown): value is UsageFile {
  return typeof value === "object" && value !== null && "userMicros" in value && "systemMicros" in value && "maxRssKiB" in value &&
    typeof value.userMicros === "number" && typeof value.systemMicros === "number" && typeof value.maxRssKiB === "number";
}

/** `node --import usage-at-exit.mjs ...args` in `cwd`, measured. */
export async function runNodeMeasured(args: string[], cwd: string): Promise<MeasuredProcess> {
  const work = mkdtempSync(path.join(tmpdir(), "kiln-bench-usage-"));
  const usageFile = path.join(work, "usage.json");
  try {
    const started = performance.now();
    const child = spawn(process.execPath, ["--import", PRELOAD, ...args], {
      cwd,
      env: { ...process.env, KILN_BENCH_USAGE_FILE: usageFile },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-KEEP_OUTPUT_CHARS);
    });
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code));
    });
    const wallSeconds = (performance.now() - started) / 1000;
    const usage: unknown = existsSync(usageFile) ? JSON.parse(readFileSync(usageFile, "utf8")) : undefined;
    if (!isUsageFile(usage)) {
      throw new MeasuredRunError(`node ${args.join(" ")} exited (${exitCode}) without reporting its resource usage:\n${stderr.slice(-3000)}`, "see the output above");
    }
    const userSeconds = usage.userMicros / 1e6;
    const systemSeconds = usage.systemMicros / 1e6;
    return { exitCode, stderr, wallSeconds, userSeconds, systemSeconds, cpuSeconds: userSeconds + systemSeconds, peakRssMB: usage.maxRssKiB / 1024 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface KilnStepsRun extends ProcessUsage {
  /** Names of the steps that ran. */
  ran: string[];
  /** Sum of the durations in the ran steps' info.json (the steps' own time, without start-up). */
  stepSeconds: number;
}

function stepDurationSeconds(outputPath: string): number {
  const info: unknown = JSON.parse(readFileSync(path.join(outputPath, ".kiln/info.json"), "utf8"));
  if (typeof info === "object" && info !== null && "durationMs" in info && typeof info.durationMs === "number") return info.durationMs / 1000;
  throw new MeasuredRunError(`${outputPath}/.kiln/info.json has no durationMs`, "the step's markers are not the ones this benchmark knows");
}

/**
 * `kiln run <pipeline> --prefix <prefix> --only '^(?:pattern)$'` (plus `--force` of the same
 * pattern when `force`), steps one at a time, measured. Throws when kiln fails or when the number
 * of steps that ran is not `expectRan`.
 */
export async function runKilnSteps(
  checkoutDir: string,
  pipelineFile: string,
  prefix: string,
  pattern: string,
  opts: { force: boolean; expectRan: number },
): Promise<KilnStepsRun> {
  const args = [path.join(checkoutDir, "bin/kiln.mjs"), "run", pipelineFile, "--prefix", prefix, "--max-concurrent", "1", "--only", `^(?:${pattern})$`];
  if (opts.force) args.push("--force", pattern);
  const measured = await runNodeMeasured(args, checkoutDir);
  const where = `kiln run ${path.basename(pipelineFile)} --only '${pattern}' in ${checkoutDir}`;
  if (measured.exitCode !== 0) throw new MeasuredRunError(`${where} failed (exit ${measured.exitCode}):\n${measured.stderr.slice(-3000)}`, "run the same command by hand to see the whole output");
  const started = [...measured.stderr.matchAll(/^\[kiln [\d:]+\] run (\S+) -> (.+)$/gm)].map((m) => ({ name: m[1], outputPath: m[2] }));
  if (started.length !== opts.expectRan) {
    throw new MeasuredRunError(`${where}: ${started.length} steps ran (${started.map((s) => s.name).join(", ")}), expected ${opts.expectRan}`, "check the step names of the generated pipeline");
  }
  const { exitCode: _code, stderr: _stderr, ...usage } = measured;
  return { ...usage, ran: started.map((s) => s.name), stepSeconds: started.reduce((sum, s) => sum + stepDurationSeconds(s.outputPath), 0) };
}
