/**
 * Running a step's `run(ctx)` in tests with a real context: real output folder and file system,
 * the config unwrapped the way the step runner unwraps it, counters kept in a plain record.
 */
import { splitConfig } from "../../../src/graph/versioned.ts";
import type { AnyStep, StepContext } from "../../../src/graph/step.ts";
import { fileSystemFor, joinPath } from "../../../src/io/index.ts";

export function contextFor(step: AnyStep, outputPath: string, signal = new AbortController().signal) {
  const counts: Record<string, number> = {};
  const logs: string[] = [];
  const fs = fileSystemFor(outputPath);
  const ctx: StepContext<unknown, {}> = {
    name: step.name,
    version: "test",
    outputPath,
    workDir: `${outputPath}.work`,
    config: splitConfig(step.config).resolved,
    inputs: {},
    fs,
    counters: {
      increment: (name: string, by = 1) => void (counts[name] = (counts[name] ?? 0) + by),
      snapshot: () => ({ ...counts }),
    },
    signal,
    log: (m: string) => void logs.push(m),
    path: (relative: string) => joinPath(outputPath, relative),
    writeFile: (relative: string, data: Buffer | string) => fs.writeAtomic(joinPath(outputPath, relative), data),
  };
  return { ctx, counts, logs };
}
