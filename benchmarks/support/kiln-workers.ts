/**
 * `kiln worker` processes for the distributed benchmarks: started, waited for until ready, their
 * peak resident memory (VmHWM) and CPU time (user + system) read from /proc, both covering every
 * thread of the process, stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

export interface BenchWorker {
  child: ChildProcess;
  pid: number;
  /** Peak RSS of the process so far, in MB. */
  peakRssMb(): number;
  /** CPU seconds (user + system, all threads) the process used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startBenchWorker(url: string, args: string[], env: Record<string, string> = {}): Promise<BenchWorker> {
  const child = spawn(process.execPath, ["bin/kiln.mjs", "worker", "--redis", url, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const closed = new Promise<void>((r) => child.once("close", () => r()));
  const end = Date.now() + 60_000;
  while (!err.includes(" ready: ")) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`kiln worker did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    pid: child.pid!,
    peakRssMb() {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return m ? Math.round(Number(m[1]) / 1024) : NaN;
    },
    cpuSeconds() {
      // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name), in clock ticks of 1/100 s.
      const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      child.kill("SIGTERM");
      await closed;
    },
  };
}
