/**
 * Typed errors of the normalize step: bad input records or files (named with file, line and
 * field), an input where every record was dropped, and invalid step options.
 */
import { KilnError } from "../../errors.ts";

export class NormalizeError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_NORMALIZE", message, hint, options);
  }
}

/** Every record of the input was dropped (blank, or without the text field). */
export class NothingLeftError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_NORMALIZE_EMPTY", message, hint);
  }
}
