/**
 * Operator implementations, one file each, and the dispatch from a fused stage operator to its
 * row operator. `mapShard` is not a row operator: the chain runs it as its own segment.
 */
import { DatasetPlanError } from "../errors.ts";
import { operatorLabel } from "../logical.ts";
import type { StageOp } from "../planner.ts";
import { filterOperator } from "./filter.ts";
import { flatMapOperator } from "./flat-map.ts";
import { limitOperator } from "./limit.ts";
import { mapOperator } from "./map.ts";
import type { ChainEnv, RowOperator } from "./runtime.ts";
import { selectOperator } from "./select.ts";
import { windowOperator } from "./window.ts";

export { mapShardSegment } from "./map-shard.ts";
export * from "./runtime.ts";

export async function rowOperator(op: StageOp, env: ChainEnv): Promise<RowOperator> {
  const label = op.kind === "limit" ? `take #${op.id}` : operatorLabel(op);
  switch (op.kind) {
    case "map":
      return mapOperator(await env.resolve(op.fn, label), label, env);
    case "flatMap":
      return flatMapOperator(await env.resolve(op.fn, label), label, env);
    case "filter":
      return filterOperator(op.where ?? (await env.resolve(op.fn!, label)), label, env);
    case "select":
      return selectOperator(op.columns, label, env);
    case "window":
      return windowOperator(op.size);
    case "limit":
      return limitOperator(op.n);
    case "mapShard":
      throw new DatasetPlanError(`${label} is not a row operator`, "run it through the chain, which gives it its own segment");
  }
}
