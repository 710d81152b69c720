/**
 * Worker-thread entry of the consolidate step's pool: loads the TypeScript tasks through tsx's
 * `tsImport` and exports them by name for `pool.run(task, { name })`.
 */
import { tsImport } from "tsx/esm/api";

const tasks = await tsImport("./tasks.ts", import.meta.url);

export const sketchTask = tasks.sketchTask;
export const consolidateTask = tasks.consolidateTask;
export default tasks.consolidateTask;
