/**
 * The words EXPLAIN uses for the pieces every operator shares: function references, `where`
 * predicates, paths (relative to the working directory, so the text does not depend on the
 * checkout), shard counts and fused operators.
 */
import path from "node:path";
import type { FnSpec } from "../fn.ts";
import { operatorLabel } from "../logical.ts";
import type { Where } from "../logical.ts";
import type { Stage, StageOp } from "./physical.ts";

export function describeFn(spec: FnSpec): string {
  if (spec.kind === "closure") return "closure";
  const args = spec.args === undefined ? "" : `(${JSON.stringify(spec.args)})`;
  return `${displayPath(spec.module)}#${spec.export}${args}`;
}

export function describeWhere(w: Where): string {
  return `where ${w.column} ${w.op} ${JSON.stringify(w.value)}`;
}

export function describeShards(shards: Stage["shards"]): string {
  if (shards === "input-splits") return "one shard per input split";
  if (typeof shards === "object") return `as many shards as stage ${shards.asStage}`;
  return `${shards} shard${shards === 1 ? "" : "s"}`;
}

/** One fused operator as EXPLAIN prints it (a join prints its right side via `describeSide`). */
export function describeStageOp(op: StageOp, describeSide: (op: Extract<StageOp, { kind: "join" }>) => string): string {
  if (op.kind === "limit") return `limit ${op.n} (take #${op.id})`;
  if (op.kind === "join") return describeSide(op);
  if (op.kind === "filter" && op.where) return `filter #${op.id} where ${describeWhere(op.where).slice(6)}`;
  return operatorLabel(op);
}

/** Module URLs and paths relative to the working directory, so EXPLAIN does not depend on the checkout. */
export function displayPath(p: string): string {
  const file = p.startsWith("file://") ? new URL(p).pathname : p;
  if (path.isAbsolute(file)) {
    const rel = path.relative(process.cwd(), file);
    if (!rel.startsWith("..")) return rel;
  }
  return p;
}
