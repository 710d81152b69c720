/**
 * The typed errors of the shuffle: a key that has no canonical encoding (naming the operator and the
 * key), corrupt or truncated data files, frames and sidecars (naming the file and the byte offset),
 * and invalid options. Each carries a stable code and a hint saying what to do.
 */
import { KilnError } from "../errors.ts";

/** A key extractor returned a value that cannot be hashed, ordered and stored faithfully. */
export class ShuffleKeyError extends KilnError {
  readonly operator: string;
  constructor(operator: string, keyText: string, reason: string) {
    super(
      "KILN_SHUFFLE_KEY",
      `${operator}: key ${keyText} cannot be used as a shuffle key: ${reason}`,
      "keys must be null, booleans, finite numbers, strings, or arrays / plain objects of those; " +
        "convert dates and bigints to strings and drop undefined fields in the key extractor",
    );
    this.operator = operator;
  }
}

/** A data file or sidecar does not hold what its sidecar or header says it holds. */
export class ShuffleCorruptError extends KilnError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, what: string, options?: { cause?: unknown }) {
    super(
      "KILN_SHUFFLE_CORRUPT",
      `corrupt shuffle data in ${file} at byte offset ${offset}: ${what}`,
      "the map output is damaged or was written by an interrupted task that still committed; " +
        "delete the map task's sidecar so that it is re-run, and check the storage for faults",
      options,
    );
    this.file = file;
    this.offset = offset;
  }
}

/** Options given to a writer or reader are out of range or inconsistent. */
export class ShuffleConfigError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_SHUFFLE_CONFIG", message, hint);
  }
}
