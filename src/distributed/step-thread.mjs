/**
 * Step-thread entry of a kiln worker. Node 20 worker threads do not pick up TypeScript loaders
 * registered inside them, so this plain-JS file loads the step-job runner through tsx's `tsImport`,
 * whose loader then also serves the pipeline module the job names and everything it imports.
 */
import { tsImport } from "tsx/esm/api";

const job = await tsImport("./step-job.ts", import.meta.url);

export default job.runStepJob;
