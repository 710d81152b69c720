// Loaded with `node --import` into a measured process: when the process exits, writes its own
// resource usage (user and system CPU of every thread, worker threads included, and the peak
// resident set size) as JSON to the file named by KILN_BENCH_USAGE_FILE.
import { writeFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const file = process.env.KILN_BENCH_USAGE_FILE;
if (file && isMainThread) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ userMicros: usage.userCPUTime, systemMicros: usage.systemCPUTime, maxRssKiB: usage.maxRSS }));
  });
}
