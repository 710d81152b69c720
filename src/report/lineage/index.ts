/**
 * Lineage of step outputs: walking info.json back to the downloaded files (walk.ts) and printing
 * the chain as an indented tree (format.ts).
 */
export { formatLineage } from "./format.ts";
export {
  findStepFolder,
  lineageOfPath,
  lineageOfStep,
  stepOutputs,
  LineageError,
  type Lineage,
  type LineageInput,
  type LineageRef,
  type LineageStep,
} from "./walk.ts";
