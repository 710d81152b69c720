/**
 * Wall time of the whole quickstart (`kiln run pipelines/quickstart.ts`: download → normalize →
 * MinHash dedup and quality → consolidate → tokenize → train → eval on every embedded source) into
 * a fresh prefix, then of the second run (every step skipped). The Python environment must already
 * be set up (`bash scripts/setup-python.sh`). Target on 2 cores: under 10 minutes after install.
 * Run: npm run bench:quickstart   (writes benchmarks/results/quickstart-walltime.json)
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import * as path from "node:path";

/** CPU seconds (user + system) of this process's waited-for children, from /proc (Linux; 100 ticks/s). */
function childCpuSeconds(): number | null {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function run(prefix: string): Promise<{ seconds: number; code: number | null; stderr: string; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/kiln.mjs", "run", "pipelines/quickstart.ts", "--prefix", prefix], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ seconds: (performance.now() - started) / 1000, code, stderr, stdout }));
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "kiln-quickstart-bench-"));
try {
  const loadBefore = loadavg().map(round1);
  const cpuBefore = childCpuSeconds();
  const first = await run(dir);
  const cpuAfter = childCpuSeconds();
  const loadAfter = loadavg().map(round1);
  if (first.code !== 0) throw new Error(`quickstart failed:\n${first.stderr.slice(-3000)}`);
  const stepSeconds: Record<string, number> = {};
  for (const m of first.stderr.matchAll(/done (\S+) \(([\d.]+) s\)/g)) stepSeconds[m[1]] = Number(m[2]);
  const second = await run(dir);
  if (second.code !== 0 || !/ran 0, skipped/.test(second.stderr)) throw new Error("the second run did not skip every step");
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"]).toString().trim();
  } catch {}
  const model = /model: (\d+) steps, (\d+) tokens, final loss ([\d.]+), (\d+) tokens\/s/.exec(first.stdout);
  const macro = /macro average\s+([\d.]+)/.exec(first.stdout);
  const result = {
    benchmark: "quickstart-walltime",
    commit,
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}`,
    load_average_1_5_15: { before_first_run: loadBefore, after_first_run: loadAfter },
    first_run_cpu_seconds: cpuBefore !== null && cpuAfter !== null ? round1(cpuAfter - cpuBefore) : null,
    node: process.version,
    first_run_seconds: round1(first.seconds),
    second_run_seconds: round1(second.seconds),
    target_seconds: 600,
    train: model ? { steps: Number(model[1]), tokens: Number(model[2]), final_loss: Number(model[3]), tokens_per_s: Number(model[4]) } : null,
    macro_bits_per_byte: macro ? Number(macro[1]) : null,
    slowest_steps_seconds: Object.fromEntries(Object.entries(stepSeconds).sort((a, b) => b[1] - a[1]).slice(0, 8)),
  };
  writeFileSync(path.join("benchmarks", "results", "quickstart-walltime.json"), JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
