/**
 * Fault injection for tests of retries and worker loss: `KILN_FAULTS` holds a JSON list of faults,
 * each matching tasks by execution label (a substring), stage, shard, round and attempt (default 1),
 * with an action: "throw" fails the task with an ordinary (retryable) error, "exit" ends the process
 * or worker thread running it. Read once per process (worker threads inherit the environment).
 * Without the variable this costs one property lookup per task.
 */
import type { TaskDescriptor } from "./task.ts";

interface Fault {
  label?: string;
  stage?: number;
  shard?: number;
  round?: number;
  attempt?: number;
  action: "throw" | "exit";
}

let faults: Fault[] | undefined;

function loadFaults(): Fault[] {
  const raw = process.env.KILN_FAULTS;
  if (!raw) return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed)) throw new Error(`KILN_FAULTS must be a JSON list of faults, got ${raw}`);
  return parsed.filter((f): f is Fault => typeof f === "object" && f !== null && (f.action === "throw" || f.action === "exit"));
}

export function injectFault(desc: TaskDescriptor): void {
  faults ??= loadFaults();
  for (const f of faults) {
    if (f.label !== undefined && !desc.label.includes(f.label)) continue;
    if (f.stage !== undefined && f.stage !== desc.stageId) continue;
    if (f.shard !== undefined && f.shard !== desc.shard) continue;
    if (f.round !== undefined && f.round !== desc.round) continue;
    if ((f.attempt ?? 1) !== desc.attempt) continue;
    const where = `${desc.label} stage ${desc.stageId} shard ${desc.shard} attempt ${desc.attempt}`;
    if (f.action === "exit") process.exit(86);
    throw new Error(`injected fault (KILN_FAULTS) in ${where}`);
  }
}
