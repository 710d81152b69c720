/**
 * Running the Python package in kernels/ as a child process: finding an interpreter that has
 * PyTorch (KILN_PYTHON, else the project's .venv, else python3), failing with what to install
 * when there is none, and running `python -m kiln_kernels.<module>` with JSON-lines events on
 * stdout handed to a callback. A non-zero exit becomes a KernelProcessError carrying the error
 * event's message and hint (or the end of stderr).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { KilnError } from "../../errors.ts";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const kernelsDir = path.join(repoRoot, "kernels");

export class PythonEnvironmentError extends KilnError {
  constructor(message: string) {
    super(
      "KILN_PYTHON_ENV",
      message,
      "run `bash scripts/setup-python.sh` (creates .venv with CPU PyTorch), or set KILN_PYTHON to a Python 3.10+ interpreter that can `import torch`",
    );
  }
}

export class KernelProcessError extends KilnError {
  readonly exitCode: number | null;
  constructor(module: string, exitCode: number | null, signal: string | null, detail: string, hint: string) {
    super(
      "KILN_KERNEL_PROCESS",
      `python -m kiln_kernels.${module} ${signal ? `was killed by ${signal}` : `exited with code ${exitCode}`}: ${detail}`,
      hint,
    );
    this.exitCode = exitCode;
  }
}

export interface KernelEvent {
  event: string;
  [key: string]: unknown;
}

let checked: { python: string; torch: string } | undefined;

/** The interpreter to use and its torch version; throws PythonEnvironmentError when unusable. */
export function pythonWithTorch(): { python: string; torch: string } {
  if (checked) return checked;
  const venv = path.join(repoRoot, ".venv/bin/python");
  const python = process.env.KILN_PYTHON || (existsSync(venv) ? venv : "python3");
  const probe = spawnSync(python, ["-c", "import sys, torch; print(torch.__version__); assert sys.version_info >= (3, 10)"], {
    encoding: "utf8",
    timeout: 120_000,
  });
  if (probe.error) throw new PythonEnvironmentError(`cannot start Python (${python}): ${probe.error.message}`);
  if (probe.status !== 0) {
    const last = (probe.stderr || "").trim().split("\n").pop() ?? "";
    throw new PythonEnvironmentError(`${python} cannot import torch: ${last}`);
  }
  checked = { python, torch: probe.stdout.trim() };
  return checked;
}

/** Runs `python -m kiln_kernels.<module> ...args`, calling `onEvent` for each JSON line on stdout. */
export function runKernel(
  module: string,
  args: string[],
  opts: { onEvent?: (e: KernelEvent) => void; signal?: AbortSignal; env?: Record<string, string> } = {},
): Promise<KernelEvent[]> {
  const { python } = pythonWithTorch();
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-m", `kiln_kernels.${module}`, ...args], {
      cwd: repoRoot,
      env: { ...process.env, PYTHONPATH: [kernelsDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: "1", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const events: KernelEvent[] = [];
    let stderr = "";
    let pending = "";
    const abort = () => child.kill("SIGTERM");
    opts.signal?.addEventListener("abort", abort, { once: true });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          const e = JSON.parse(line) as KernelEvent;
          events.push(e);
          opts.onEvent?.(e);
        } catch {
          // Not an event line (a library printing to stdout); ignored.
        }
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    child.on("error", (err) => reject(new PythonEnvironmentError(`cannot start ${python}: ${err.message}`)));
    child.on("close", (code, signal) => {
      opts.signal?.removeEventListener("abort", abort);
      if (code === 0) return resolve(events);
      const error = [...events].reverse().find((e) => e.event === "error");
      const detail = error ? `[${String(error.code)}] ${String(error.message)}` : stderr.trim().split("\n").slice(-5).join("\n") || "no output";
      const hint = error?.hint ? String(error.hint) : "see the error above; the step's output folder keeps its checkpoints for a rerun";
      reject(new KernelProcessError(module, code, signal, detail, hint));
    });
  });
}
