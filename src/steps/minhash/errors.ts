/**
 * Typed errors of the MinHash deduplication library: invalid parameters (bands × rows not equal
 * to the permutation count, n-gram size out of range, signatures of the wrong length) and invalid
 * records (a document without a string id or text). Each names the offending field or record and
 * says how to fix it.
 */
import { KilnError } from "../../errors.ts";

/** A MinHash / LSH parameter is out of range or inconsistent with another one. */
export class MinHashConfigError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_MINHASH_CONFIG", message, hint);
  }
}

/** A document, signature or edge handed to the library is malformed. */
export class MinHashInputError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_MINHASH_INPUT", message, hint);
  }
}
