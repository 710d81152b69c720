/**
 * Worker-thread entry of the normalize step's pool: loads the TypeScript tasks through tsx's
 * `tsImport` (worker threads do not inherit the loader registered in the main thread) and exports
 * them by name for `pool.run(task, { name })`.
 */
import { tsImport } from "tsx/esm/api";

const tasks = await tsImport("./tasks.ts", import.meta.url);

export const normalizeMapTask = tasks.normalizeMapTask;
export const normalizeReduceTask = tasks.normalizeReduceTask;
export default tasks.normalizeMapTask;
