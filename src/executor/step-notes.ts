/**
 * What the step runner tells the user about a step beyond its own log: that a running step is still
 * running when it has been silent for a while, and that a finished step's output came from code that
 * has changed since (a fingerprint of its `run` source, recorded in info.json, never in the version).
 */
import { createHash } from "node:crypto";
import type { StepNode } from "../graph/dag.ts";
import type { StepInfo } from "./markers.ts";

/** A hash of the step's `run` source: recorded in info.json, compared to warn about stale outputs, never part of the version. */
export function codeFingerprint(node: StepNode): string {
  return createHash("sha256").update(node.step.run.toString()).digest("hex").slice(0, 16);
}

/** What to say when a finished step's recorded code differs from the code now; undefined when it is the same (or unknown). */
export function codeChangeNote(node: StepNode, info: StepInfo | null): string | undefined {
  const then = info?.codeFingerprint;
  const now = codeFingerprint(node);
  if (!then || then === now) return undefined;
  return `its code changed since it ran (fingerprint ${then}, now ${now}); --force '${node.name}' reruns it`;
}

/**
 * The step's log, with a watch that says the step is still running when it has been silent for
 * `env.quietMs` (a step that prints nothing for minutes looks hung otherwise).
 */
export function quietWatch(name: string, env: { quietMs: number; log(line: string): void }): { log(message: string): void; stop(): void } {
  const started = Date.now();
  let last = started;
  const log = (message: string): void => {
    last = Date.now();
    env.log(`  ${name}: ${message}`);
  };
  const timer = setInterval(() => {
    if (Date.now() - last >= env.quietMs) log(`still running (${Math.round((Date.now() - started) / 1000)} s)`);
  }, Math.max(50, Math.min(1000, env.quietMs / 4)));
  timer.unref();
  return { log, stop: () => clearInterval(timer) };
}
