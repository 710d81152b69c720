/**
 * Runs the real `kiln` command (bin/kiln.mjs) as a child process for end-to-end tests, and gives
 * temporary directories that are removed after the test file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const kilnBin = path.join(repoRoot, "bin/kiln.mjs");
export const fixturePipeline = (name: string) => path.join(repoRoot, "test/fixtures/pipelines", name);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startKiln(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [kilnBin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runKiln(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startKiln(args, env).done;
}

/** A fresh temporary directory, removed when the test file ends. */
export function tempDir(label = "kiln-test-"): string {
  const dir = mkdtempSync(path.join(tmpdir(), label));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file below `dir`, relative to it, sorted. */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** Polls `pred` every `everyMs` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, pred: () => boolean, { timeoutMs = 30_000, everyMs = 20 } = {}): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
