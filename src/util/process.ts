/**
 * Small facts about processes on this host, shared by leases (is a lease holder still alive?) and
 * the shuffle's spill folders (may a dead process's folder be removed?).
 */

/** True when a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
