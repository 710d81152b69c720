/**
 * The options kiln's worker threads start with (src/util/thread-argv.ts): a tsx preload in any of its
 * spellings is dropped along with its value, per-thread options and other preloads are kept, options
 * a worker refuses (V8 and process-wide ones) are left to be inherited, and a process without tsx
 * gets `undefined` (Node's own inheritance). The list returned is accepted by a real worker thread.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, test } from "vitest";
import { threadExecArgv } from "../../src/util/thread-argv.ts";

describe("worker thread options", () => {
  test("drops tsx preloads in every spelling and keeps what acts per thread", () => {
    const argv = [
      "--import", "tsx",
      "--max-old-space-size=4000",
      "--require", "/opt/app/node_modules/tsx/dist/preflight.cjs",
      "--import=file:///opt/app/node_modules/tsx/dist/loader.mjs",
      "--import", "./telemetry.mjs",
      "--enable-source-maps",
      "--loader=tsx/esm",
      "-e", "console.log(1)",
      "--conditions", "development",
      "--title=job",
    ];
    expect(threadExecArgv(argv)).toEqual(["--import", "./telemetry.mjs", "--enable-source-maps", "--conditions", "development"]);
  });

  test("a process without a tsx preload keeps Node's inheritance", () => {
    expect(threadExecArgv(["--max-old-space-size=4000", "--enable-source-maps"])).toBeUndefined();
    expect(threadExecArgv([])).toBeUndefined();
    // A package whose name merely contains "tsx" is not the loader.
    expect(threadExecArgv(["--import", "my-tsx-helpers"])).toBeUndefined();
  });

  test("a worker thread accepts the list and sees it as its execArgv", async () => {
    const execArgv = threadExecArgv(["--import", "tsx", "--stack-size=2000", "--no-warnings", "--conditions=development"]);
    const worker = new Worker("require('node:worker_threads').parentPort.postMessage(process.execArgv)", { eval: true, execArgv });
    const seen = await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    expect(seen).toEqual(["--no-warnings", "--conditions=development"]);
  });
});
