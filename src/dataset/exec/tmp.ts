/**
 * The local folders executions keep their intermediate files in: `kiln-dataset-<pid>-<id>`, one per
 * execution, removed when it ends. A process killed before that leaves its folder behind; the next
 * execution that uses the same parent folder removes the folders of processes that no longer exist
 * on this host.
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { processIsAlive } from "../../util/process.ts";

export const TMP_PREFIX = "kiln-dataset-";

export async function sweepDeadTmpDirs(parent: string): Promise<void> {
  for (const name of await readdir(parent).catch(() => [])) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const pid = Number(name.slice(TMP_PREFIX.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processIsAlive(pid)) {
      await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => {});
    }
  }
}
