/**
 * Worker-thread entry of the tokenize step's pool: loads the TypeScript task through tsx's
 * `tsImport` (worker threads do not inherit the loader registered in the main thread).
 */
import { tsImport } from "tsx/esm/api";

const task = await tsImport("./tokenize-split.ts", import.meta.url);

export const tokenizeSplit = task.tokenizeSplit;
export default task.tokenizeSplit;
