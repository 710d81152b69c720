/**
 * `kiln run --redis` fails at once, with what to do, when it cannot use Redis: a URL that is not a
 * redis:// URL (KILN_REDIS_URL, before anything runs), and a Redis that does not answer on a free
 * loopback port (KILN_REDIS_UNAVAILABLE after the connect timeout), without writing any step output.
 */
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runKiln, tempDir } from "../support/kiln-cli.ts";
import { pipelineFile } from "./helpers.ts";

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("kiln run --redis without a usable Redis", () => {
  it("rejects a URL that is not redis://", async () => {
    const prefix = path.join(tempDir("kiln-dist-url-"), "out");
    const res = await runKiln(["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", "http://127.0.0.1:6379"]);
    expect(res.code).toBe(2); // a KilnError before anything ran
    expect(res.stderr).toContain("--redis http://127.0.0.1:6379 is not a redis:// or rediss:// URL");
    expect(res.stderr).toContain("give redis://host:port");
  }, 60_000);

  it("fails after the connect timeout when nothing answers, naming the URL and what to do", async () => {
    const prefix = path.join(tempDir("kiln-dist-down-"), "out");
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const res = await runKiln(["run", pipelineFile("numbers.ts"), "--prefix", prefix, "--redis", url, "--redis-timeout-ms", "2000"]);
    expect(res.code).toBe(2); // a KilnError before anything ran
    expect(res.stderr).toMatch(new RegExp(`Redis at ${url.replace(/[.]/g, "\\.")} has been unreachable for 2 s \\(.*ECONNREFUSED`));
    expect(res.stderr).toContain("start redis-server again");
    expect(Date.now() - started).toBeLessThan(30_000);
    const written = existsSync(prefix) ? readdirSync(prefix) : [];
    expect(written.filter((name) => name.startsWith("numbers"))).toEqual([]);
  }, 60_000);
});
