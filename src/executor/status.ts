/**
 * `kiln status`: each step's state as the markers tell it (SUCCESS, FAILED, RUNNING with a live or
 * stale lease, DEP_FAILED, not started, or finished in another region), its output path and the
 * duration recorded in info.json.
 */
import type { StepNode } from "../graph/dag.ts";
import { fileSystemFor, joinPath } from "../io/index.ts";
import { DEFAULT_LEASE_TIMING, inspectLease } from "./lease.ts";
import { markerPaths, readInfo, readStatus } from "./markers.ts";
import { findInRegions } from "./regions.ts";
import type { RunOptions } from "./scheduler.ts";
import { codeChangeNote } from "./step-notes.ts";

export interface StatusRow {
  name: string;
  state: string;
  outputPath: string;
  duration: string;
}

export async function stepStatusTable(nodes: readonly StepNode[], opts: RunOptions): Promise<StatusRow[]> {
  const timing = { ...DEFAULT_LEASE_TIMING, ...opts.lease };
  return Promise.all(
    nodes.map(async (node) => {
      const out = joinPath(opts.prefix, node.relPath);
      const fs = fileSystemFor(out);
      const status = await readStatus(fs, out);
      let state: string = status ?? "not started";
      let outputPath = out;
      if (status === "RUNNING") {
        const lease = await inspectLease(fs, markerPaths(out).lease, timing);
        state = lease.state === "live" ? `RUNNING (pid ${lease.holder.pid} on ${lease.holder.host})` : "RUNNING (no live lease: crashed)";
      } else if (status !== "SUCCESS") {
        const found = await findInRegions(opts.regions ?? [], node.relPath);
        if (found) {
          state = `SUCCESS in region ${found.region}`;
          outputPath = found.path;
        }
      }
      const info = status === "SUCCESS" || status === "FAILED" || state.startsWith("SUCCESS in") ? await readInfo(fileSystemFor(outputPath), outputPath) : null;
      if (status === "SUCCESS" && codeChangeNote(node, info)) state = "SUCCESS (code changed since: --force reruns it)";
      const duration = info ? `${(info.durationMs / 1000).toFixed(1)} s` : "";
      return { name: node.name, state, outputPath, duration };
    }),
  );
}
