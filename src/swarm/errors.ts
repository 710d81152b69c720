/**
 * Errors the mixture swarm raises on purpose: a configuration whose feasible set is empty, a
 * sampler that cannot find enough distinct feasible mixtures, and inputs that do not fit together
 * (a source without held-out tokens, a step result of the wrong shape, an unknown source name).
 */
import { KilnError } from "../errors.ts";

export class SwarmConfigError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_SWARM_CONFIG", message, hint);
  }
}

export class SwarmInfeasibleError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_SWARM_INFEASIBLE", message, hint);
  }
}

export class SwarmSamplingError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_SWARM_SAMPLING", message, hint);
  }
}

export class SwarmInputError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_SWARM_INPUT", message, hint);
  }
}
