/**
 * Worker-thread entry of the dataset pool. Node 20 worker threads do not pick up TypeScript
 * loaders registered inside them with `register()`, so this plain-JS file loads the TypeScript
 * task runner through tsx's `tsImport`, whose namespaced loader also handles every module the
 * runner imports later (including user-function modules given as file URLs).
 */
import { tsImport } from "tsx/esm/api";

const runner = await tsImport("./pool.ts", import.meta.url);

export default runner.runTaskInWorker;
