/**
 * EXPLAIN: the logical plan, operator by operator, and the physical plan, stage by stage (input,
 * fused operators, output, loops), as deterministic text. The same plan always prints the same text;
 * golden files in test/golden pin it.
 */
import { describeInput, describeOutput } from "../physical/index.ts";
import { joinOperator } from "../physical/join.ts";
import { loopOperator } from "../physical/loop.ts";
import type { LogicalOp, LogicalPlan } from "../logical.ts";
import { describeFn, describeShards, describeStageOp, describeWhere, displayPath } from "./describe.ts";
import { planPhysical } from "./planner.ts";
import type { StageOp, PhysicalPlan } from "./physical.ts";

/** Text form of both plans. */
export function explainPlan(logical: LogicalPlan): string {
  const physical = planPhysical(logical);
  const lines = ["== logical plan =="];
  for (const op of logical.ops) lines.push(`  ${describeLogical(op)}`);
  lines.push("== physical plan ==");
  for (const stage of physical.stages) {
    const loop = physical.loops.find((l) => l.first === stage.id);
    if (loop) lines.push(loopOperator.describeLoop(loop));
    lines.push(`stage ${stage.id} (${describeShards(stage.shards)})`);
    lines.push(`  input:  ${describeInput(stage.input, physical)}`);
    lines.push(`  fused:  ${stage.ops.length ? describeOps(stage.ops, physical) : "(none)"}`);
    lines.push(`  output: ${describeOutput(stage.output)}`);
  }
  lines.push(`result: ${describeResult(physical.result)}`);
  return lines.join("\n") + "\n";
}

function describeOps(ops: StageOp[], physical: Pick<PhysicalPlan, "loops">): string {
  const side = (op: Extract<StageOp, { kind: "join" }>): string =>
    joinOperator.describe(op, (input) => describeInput(input, physical), (rightOps) => describeOps(rightOps, physical));
  return ops.map((op) => describeStageOp(op, side)).join(" -> ");
}

function describeLogical(op: LogicalOp): string {
  const label = `#${op.id} ${op.kind}`;
  switch (op.kind) {
    case "read":
      return `${label} ${JSON.stringify(op.patterns.map(displayPath))}${op.splitBytes ? ` splitBytes=${op.splitBytes}` : ""}${op.onBadRecord && op.onBadRecord !== "fail" ? ` onBadRecord=${op.onBadRecord}` : ""}`;
    case "items":
      return `${label} ${op.items.length} inline rows over ${op.shards} shard(s)`;
    case "loopInput":
      return `${label} rows of the previous round`;
    case "map":
    case "flatMap":
    case "mapShard":
      return `${label} ${describeFn(op.fn)}`;
    case "filter":
      return `${label} ${op.where ? describeWhere(op.where) : op.fn ? describeFn(op.fn) : "(none)"}`;
    case "select":
      return `${label} ${JSON.stringify(op.columns)}`;
    case "window":
      return `${label} size=${op.size}`;
    case "take":
      return `${label} n=${op.n}`;
    case "reshard":
      return `${label} shards=${op.shards}`;
    case "groupBy":
      return (
        `${label} key=${describeFn(op.key)} reducer=${describeFn(op.reducer)}` +
        `${op.sortBy ? ` sortBy=${describeFn(op.sortBy)}` : ""}${op.combiner ? ` combiner=${describeFn(op.combiner)}` : ""}${op.shards ? ` shards=${op.shards}` : ""}`
      );
    case "deduplicate":
      return `${label} key=${describeFn(op.key)} keep=first${op.shards ? ` shards=${op.shards}` : ""}`;
    case "partitionBy":
      return `${label} key=${describeFn(op.key)}${op.sortBy ? ` sortBy=${describeFn(op.sortBy)}` : ""}${op.shards ? ` shards=${op.shards}` : ""}`;
    case "sortedMergeJoin":
      return `${label} how=${op.how} leftKey=${describeFn(op.leftKey)} rightKey=${describeFn(op.rightKey)} right=[${op.right.ops.map(describeLogical).join("; ")}]`;
    case "iterate":
      return `${label} until=${JSON.stringify(op.until)} maxRounds=${op.maxRounds} body=[${op.body.ops.map(describeLogical).join("; ")}]`;
    case "count":
      return label;
    case "reduce":
      return `${label} initial=${JSON.stringify(op.initial)} fold=${describeFn(op.fold)} combine=${describeFn(op.combine)}`;
    case "write": {
      const targets = op.targets.map((t) => (op.route ? `${t.tag}=` : "") + JSON.stringify(displayPath(t.pattern))).join(" ");
      return `${label} ${targets} format=${op.format}${op.route ? ` route=${describeFn(op.route)}` : ""}${op.skipExisting ? " skipExisting" : ""}${op.omitEmpty ? " omitEmpty" : ""}`;
    }
  }
}

function describeResult(result: PhysicalPlan["result"]): string {
  switch (result) {
    case "rows":
      return "rows concatenated in shard order";
    case "count":
      return "gather partial counts, sum";
    case "reduce":
      return "gather partial values, global fold with combine in shard order";
    case "outputs":
      return "list of committed output files";
  }
}
