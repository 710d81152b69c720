/**
 * A real `redis-server` for tests and benchmarks: on a free loopback port, without persistence (so a
 * restart brings it back empty, as a crashed Redis without its data would be), started and stopped
 * by its user.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILLs the server (its data is gone: it keeps none). */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port. */
  start(): Promise<void>;
}

export async function launchRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    const end = Date.now() + 10_000;
    while (!out.includes("Ready to accept connections") && proc.exitCode === null) {
      if (Date.now() > end) throw new Error(`redis-server on port ${port} did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
  };
  const kill = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const closed = new Promise((r) => proc.once("close", r));
    proc.kill("SIGKILL");
    await closed;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, start };
}
