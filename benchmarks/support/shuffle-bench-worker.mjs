/** Worker-thread entry of the shuffle benchmark: loads its TypeScript tasks through tsx. */
import { tsImport } from "tsx/esm/api";

const tasks = await tsImport("./shuffle-bench-tasks.ts", import.meta.url);

export const mapTask = tasks.mapTask;
export const reduceTask = tasks.reduceTask;
export default tasks.mapTask;
