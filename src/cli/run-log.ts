/**
 * The log every `kiln run` keeps under its prefix: `<prefix>/logs/<pipeline>-<start time>.log`, the
 * same lines the run prints on stderr (step logs, the summary, the failures). A local prefix gets
 * the file as the run goes; for an object store the lines are kept in a local file and uploaded when
 * the run ends (a run killed before that leaves its log in the OS temp folder only).
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { fileSystemFor, joinPath, schemeOf } from "../io/index.ts";

export interface RunLog {
  /** Where the log ends up. */
  readonly path: string;
  write(text: string): void;
  /** Uploads the log when the prefix is remote; a no-op for local prefixes. */
  close(): Promise<void>;
}

export function openRunLog(prefix: string, pipeline: string, started = new Date()): RunLog {
  const name = `${pipeline.replace(/[^A-Za-z0-9_.-]+/g, "_")}-${started.toISOString().replace(/[:.]/g, "-")}.log`;
  const target = joinPath(prefix, "logs", name);
  const local = schemeOf(prefix) === "file";
  const scratch = local ? undefined : mkdtempSync(path.join(os.tmpdir(), "kiln-run-log-"));
  const file = scratch ? path.join(scratch, name) : target;
  mkdirSync(path.dirname(file), { recursive: true });
  let broken = false;
  return {
    path: target,
    write(text) {
      if (broken) return;
      try {
        appendFileSync(file, text);
      } catch {
        broken = true; // a log that cannot be written must not stop the run
      }
    },
    async close() {
      if (!scratch) return;
      try {
        await fileSystemFor(target).writeAtomic(target, readFileSync(file));
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}
