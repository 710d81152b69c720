/**
 * Worker-thread entry of the MinHash dedup step's signature stage: loads the TypeScript task
 * through tsx's `tsImport` (worker threads do not inherit the loader of the main thread).
 */
import { tsImport } from "tsx/esm/api";

const tasks = await tsImport("./dedup-tasks.ts", import.meta.url);

export const signatureTask = tasks.signatureTask;
export default tasks.signatureTask;
