/**
 * Logical plan → physical plan. Narrow operators fuse into the open stage (a chain of iterators over
 * a shard, nothing materialised); a sortedMergeJoin fuses too, carrying its right side. Exchanges
 * end the open stage and start the next one: reshard and take through exchange files, groupBy and
 * deduplicate through the shuffle, iterate through a loop of the body's stages. Terminals decide
 * what the last stage's tasks hand back. Each operator's planning lives in its physical operator's
 * file; this file walks the operators and numbers the stages. Both plans are plain JSON.
 */
import { DatasetPlanError } from "../errors.ts";
import { OPERATOR_CLASS, operatorLabel } from "../logical.ts";
import type { LogicalOp, LogicalPlan } from "../logical.ts";
import { exchangeOperator } from "../physical/exchange.ts";
import { joinOperator } from "../physical/join.ts";
import { loopOperator } from "../physical/loop.ts";
import { readOperator } from "../physical/read.ts";
import { itemsOperator } from "../physical/items.ts";
import { shuffleOperator } from "../physical/shuffle.ts";
import { writeOperator } from "../physical/write.ts";
import type { LoopSpec, Stage, PhysicalPlan } from "./physical.ts";

export function planPhysical(logical: LogicalPlan): PhysicalPlan {
  const planner = new Planner();
  const planned = planner.planOps(logical.ops, undefined);
  planner.close(planned.current);
  for (const stage of planner.stages) readOperator.pushDown(stage);
  return { version: 1, stages: planner.stages, loops: planner.loops, result: planned.result };
}

class Planner {
  readonly stages: Stage[] = [];
  readonly loops: LoopSpec[] = [];

  /** Appends an open stage to the plan, giving it the next id. */
  close(stage: Stage): number {
    stage.id = this.stages.length;
    this.stages.push(stage);
    return stage.id;
  }

  open(start: Pick<Stage, "input" | "shards">): Stage {
    return { id: -1, input: start.input, ops: [], output: { kind: "collect" }, shards: start.shards };
  }

  /** Plans `ops` (a source first), closing finished stages; returns the still open last stage. */
  planOps(ops: LogicalOp[], loop: number | undefined): { current: Stage; result: PhysicalPlan["result"] } {
    const [source, ...rest] = ops;
    let current = this.source(source, loop);
    let result: PhysicalPlan["result"] = "rows";
    rest.forEach((op, index) => {
      const cls = OPERATOR_CLASS[op.kind];
      if (cls === "source") throw new DatasetPlanError(`${operatorLabel(op)}: a source in the middle of a plan`, "start a new Dataset instead");
      if (cls === "terminal" && index !== rest.length - 1) {
        throw new DatasetPlanError(`${operatorLabel(op)} is not the last operator`, "count, reduce and write end a plan");
      }
      switch (op.kind) {
        case "take":
          current.ops.push({ id: op.id, kind: "limit", n: op.n });
          current = this.open(exchangeOperator.plan(current, this.close(current), op.id, "single", 1));
          current.ops.push({ id: op.id, kind: "limit", n: op.n });
          return;
        case "reshard":
          current = this.open(exchangeOperator.plan(current, this.close(current), op.id, "round-robin", op.shards));
          return;
        case "groupBy":
        case "deduplicate":
        case "partitionBy":
          current = this.open(shuffleOperator.plan(current, this.close(current), op));
          return;
        case "iterate":
          current = this.open(loopOperator.plan(op, current, this.loops, (s) => this.close(s), (body) => this.planOps(body, this.loops.length - 1).current));
          return;
        case "sortedMergeJoin": {
          const before = this.stages.length;
          const planRight = (rightOps: LogicalOp[]) => {
            const right = this.planOps(rightOps, undefined);
            return { current: right.current, closedAny: this.stages.length > before };
          };
          current.ops.push(joinOperator.plan(op, planRight, (s) => this.close(s), (s) => readOperator.pushDown(s)));
          return;
        }
        case "count":
          current.output = { kind: "count", opId: op.id };
          result = "count";
          return;
        case "reduce":
          current.output = { kind: "fold", opId: op.id, initial: op.initial, fold: op.fold, combine: op.combine };
          result = "reduce";
          return;
        case "write":
          current.output = writeOperator.plan(op);
          result = "outputs";
          return;
        case "map":
        case "flatMap":
        case "filter":
        case "select":
        case "mapShard":
        case "window":
          current.ops.push(op);
          return;
        default:
          throw new DatasetPlanError(`${operatorLabel(op)} cannot follow a source here`, "check the order of operators");
      }
    });
    return { current, result };
  }

  private source(op: LogicalOp | undefined, loop: number | undefined): Stage {
    switch (op?.kind) {
      case "read":
        return this.open(readOperator.plan(op));
      case "items":
        return this.open(itemsOperator.plan(op));
      case "loopInput":
        if (loop === undefined) throw new DatasetPlanError("loopInput outside an iterate body", "build loop bodies with Dataset.iterate()");
        return this.open({ input: { kind: "loop", loop }, shards: { asStage: this.loops[loop].from } });
      default:
        throw new DatasetPlanError("a plan must start with Dataset.read() or Dataset.fromItems()", "build datasets from those two");
    }
  }
}
