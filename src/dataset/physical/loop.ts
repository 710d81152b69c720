/**
 * Physical operator `loop` (iterate): repeats the stages of a body plan, round after round, on the
 * rows the previous round produced, until a round adds nothing to a named user counter. The stage
 * before the loop and the body's last stage end with one aligned file per shard; the body's first
 * stage reads the files of the stage before the loop in round 0 and those of the body's last stage
 * afterwards, shard i reading shard i (so a body that keeps its partitioning, as a groupBy with a
 * fixed shard count does, stays co-partitioned). The coordinator drives the rounds (see
 * exec/execute.ts): it sums the counter over the body's tasks after each round, stops at zero, and
 * fails with IterationLimitError after `maxRounds` rounds. Nested loops are not supported.
 */
import { DatasetPlanError, IterationLimitError } from "../errors.ts";
import type { IterateOp, LogicalOp } from "../logical.ts";
import type { PlanContext } from "../exec/context.ts";
import type { LoopSpec, LoopInput, Stage } from "../plan/physical.ts";
import type { ExchangeTask } from "../exec/task.ts";


/** Plans a body's operators into stages and returns its still open last stage. */
type PlanBody = (ops: LogicalOp[]) => Stage;

export const loopOperator = {
  /** Closes `current`, plans the body, and returns the input and shard count of the stage after the loop. */
  plan(op: IterateOp, current: Stage, loops: LoopSpec[], close: (stage: Stage) => number, planBody: PlanBody): Pick<Stage, "input" | "shards"> {
    if (op.body.ops.some((o) => o.kind === "iterate")) {
      throw new DatasetPlanError(`iterate #${op.id}: the body holds another iterate`, "unroll the inner loop or run it as its own execution");
    }
    current.output = { kind: "exchange", partitioning: "aligned", partitions: "aligned", opId: op.id, operator: "iterate" };
    const from = close(current);
    const index = loops.length;
    const spec: LoopSpec = { opId: op.id, first: from + 1, last: -1, from, until: op.until, maxRounds: op.maxRounds };
    loops.push(spec);
    const body = planBody(op.body.ops);
    if (body.input.kind === "loop" && body.input.loop !== index) throw new DatasetPlanError(`iterate #${op.id}: the body reads another loop's rows`, "start the body with its own input");
    body.output = { kind: "exchange", partitioning: "aligned", partitions: "aligned", opId: op.id, operator: "iterate" };
    spec.last = close(body);
    return { input: { kind: "exchange", fromStage: spec.last, partitioning: "aligned", partitions: "aligned" }, shards: { asStage: spec.last } };
  },

  /** The body's first stage reads the stage before the loop in round 0, the body's last stage after. */
  inputTasks(input: LoopInput, ctx: PlanContext): ExchangeTask[] {
    const loop = ctx.plan.loops[input.loop];
    const upstream = ctx.resultsOf(ctx.round === 0 ? loop.from : loop.last);
    return upstream.map((r) => ({ kind: "exchange", files: [r.exchangeFiles?.[0] ?? ""] }));
  },

  /** After a round: whether to run another, failing once the round limit is reached. */
  another(loop: LoopSpec, round: number, counted: number): boolean {
    if (counted === 0) return false;
    if (round + 1 >= loop.maxRounds) {
      throw new IterationLimitError(
        `iterate #${loop.opId} did not converge in ${loop.maxRounds} rounds (counter '${loop.until}' was ${counted} in the last one)`,
        "raise maxRounds, or check that the body stops incrementing the counter once nothing changes",
      );
    }
    return true;
  },

  describeInput(input: LoopInput, ctx: { loops: LoopSpec[] }): string {
    const loop = ctx.loops[input.loop];
    return `rows of the previous round: stage ${loop.from} in round 0, then stage ${loop.last} (iterate #${loop.opId})`;
  },

  describeLoop(loop: LoopSpec): string {
    return `loop: stages ${loop.first}-${loop.last} repeat until a round adds 0 to counter '${loop.until}' (at most ${loop.maxRounds} rounds; iterate #${loop.opId})`;
  },
};
