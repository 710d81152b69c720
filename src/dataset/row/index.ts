/**
 * Row operator implementations, one file each, and the dispatch from a fused stage operator to its
 * row operator. `mapShard` and joins are not row operators: the chain runs each as its own segment.
 */
import { operatorLabel } from "../logical.ts";
import type { StageOp } from "../plan/physical.ts";
import { filterOperator } from "./filter.ts";
import { flatMapOperator } from "./flat-map.ts";
import { limitOperator } from "./limit.ts";
import { mapOperator } from "./map.ts";
import type { ChainEnv, RowOperator } from "./runtime.ts";
import { selectOperator } from "./select.ts";
import { windowOperator } from "./window.ts";

export { mapShardSegment } from "./map-shard.ts";
export * from "./runtime.ts";

/** Row operators are the fused operators that are neither mapShard nor a join. */
export type RowStageOp = Exclude<StageOp, { kind: "mapShard" } | { kind: "join" }>;

export async function rowOperator(op: RowStageOp, env: ChainEnv): Promise<RowOperator> {
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
  }
}
