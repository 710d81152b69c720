/**
 * Typed errors of the consolidate step: bad filter configuration, attribute files that are missing,
 * unsorted, or not co-partitioned with their source file (named with file and record position).
 */
import { KilnError } from "../../errors.ts";

export class ConsolidateError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_CONSOLIDATE", message, hint, options);
  }
}

export class FilterConfigError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_CONSOLIDATE_FILTER", message, hint);
  }
}

/** An attribute file is not sorted by id, or holds ids its source file does not. */
export class CoPartitionError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_NOT_COPARTITIONED", message, hint);
  }
}
