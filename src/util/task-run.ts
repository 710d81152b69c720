/**
 * Where a Dataset task ran, as a runner of other processes reports it: shared by the Dataset layer
 * (which hears it from its runner) and the step executor (which keeps it in a step's info.json),
 * neither of which may import the other.
 */

/** Which worker ran a task, and when. */
export interface TaskPlacement {
  /** `host:pid` of the worker process. */
  worker: string;
  startedAt: string;
  endedAt: string;
}

/** One task of a step's Dataset executions that a remote worker ran. */
export interface TaskRunRecord extends TaskPlacement {
  /** The execution's label (the step's name, plus the label given to runDataset). */
  execution: string;
  stage: number;
  round: number;
  shard: number;
  attempt: number;
  ok: boolean;
}
