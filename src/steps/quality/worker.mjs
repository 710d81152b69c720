/**
 * Worker-thread entry of the quality step's scoring pool: loads the TypeScript task through tsx's
 * `tsImport` (worker threads do not inherit the loader of the main thread).
 */
import { tsImport } from "tsx/esm/api";

const task = await tsImport("./quality-task.ts", import.meta.url);

export const qualityTask = task.qualityTask;
export default task.qualityTask;
