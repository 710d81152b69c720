/**
 * What a pool worker runs for each task: resolve functions by importing their modules (closures are
 * refused), run the descriptor, and return the result msgpack-encoded in one buffer that is moved
 * (transferred) to the coordinator rather than copied. Errors come back serialized so that the
 * coordinator can rebuild the same typed error.
 */
import { move } from "piscina";
import { packr } from "./exchange-files.ts";
import { createResolver } from "./resolve.ts";
import { runTask } from "./run-task.ts";
import { serializeError } from "./task.ts";
import type { TaskDescriptor, TaskResult } from "./task.ts";

const resolve = createResolver();

export async function runTaskInWorker(desc: TaskDescriptor): Promise<unknown> {
  let result: TaskResult;
  try {
    result = await runTask(desc, resolve);
  } catch (err) {
    result = { ok: false, error: serializeError(err) };
  }
  const encoded = new Uint8Array(packr.pack(result));
  return move(encoded);
}
