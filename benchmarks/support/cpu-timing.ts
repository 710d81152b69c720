/**
 * CPU-time measurement for single-threaded benchmark loops. On a shared machine wall time mostly
 * measures the other jobs; the CPU time of a single-threaded loop is the per-core cost. Wall times
 * are kept in `wallLog` (by label) for the record.
 */
export const wallLog: Record<string, number[]> = {};

/** Runs `fn` `runs` times and returns this thread's CPU milliseconds (user + system) per run. */
export function timeRuns(runs: number, fn: () => void, label = "unnamed"): number[] {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const wallStart = performance.now();
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
    (wallLog[label] ??= []).push(Math.round(performance.now() - wallStart));
  }
  return times;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
