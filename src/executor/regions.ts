/**
 * Storage regions. A run has a home prefix and any number of other region prefixes; since a
 * step's output path suffix does not depend on the prefix, a step finished in another region is
 * found by looking for its SUCCESS marker there. It is then copied into home under a transfer
 * budget shared by the whole run (policy "copy"), or read where it lies (policy "read").
 */
import { KilnError } from "../errors.ts";
import { fileSystemFor, joinPath, type FileInfo } from "../io/index.ts";
import { MARKER_DIR, readStatus } from "./markers.ts";

export type RegionPolicy = "copy" | "read";

export class TransferBudgetError extends KilnError {
  constructor(step: string, region: string, bytes: number, left: number) {
    super(
      "KILN_TRANSFER_BUDGET",
      `step '${step}' is finished in region ${region}, but copying its ${formatBytes(bytes)} would exceed the transfer budget (${formatBytes(left)} left)`,
      "raise --transfer-budget, read it in place with --region-policy read, or recompute it with --force",
    );
  }
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A byte allowance shared by all copies of one run. */
export class TransferBudget {
  private used = 0;
  constructor(readonly limitBytes: number) {}
  get left(): number {
    return Math.max(0, this.limitBytes - this.used);
  }
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }
  get usedBytes(): number {
    return this.used;
  }
}

/** The first region (in the given order) where the step's output is finished, if any. */
export async function findInRegions(regions: readonly string[], relPath: string): Promise<{ region: string; path: string } | null> {
  for (const region of regions) {
    const path = joinPath(region, relPath);
    if ((await readStatus(fileSystemFor(path), path)) === "SUCCESS") return { region, path };
  }
  return null;
}

/** Data files of a finished output (markers excluded), with sizes. */
export async function listOutputFiles(outputPath: string): Promise<FileInfo[]> {
  const all = await fileSystemFor(outputPath).list(outputPath);
  const markerPrefix = joinPath(outputPath, MARKER_DIR) + "/";
  return all.filter((f) => !f.path.startsWith(markerPrefix) && !f.path.includes(".kiln-tmp-"));
}

/** Copies a finished output's data files into `target` (markers are written by the caller). */
export async function copyOutput(
  source: string,
  target: string,
  files: FileInfo[],
  concurrency = 8,
): Promise<void> {
  const srcFs = fileSystemFor(source);
  const dstFs = fileSystemFor(target);
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const rel = f.path.slice(source.replace(/\/+$/, "").length + 1);
      await srcFs.copy(f.path, joinPath(target, rel), dstFs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
}
