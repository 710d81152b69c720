/**
 * The base of every error kiln raises on purpose: a stable `code` a program can branch on, the
 * message saying what went wrong (naming the file, record, step or field), and a `hint` saying what
 * to do about it. Each layer defines its own subclasses next to the code that throws them.
 * `retryable` tells the engines whether running the same work again may succeed: false for errors
 * in the input, the plan or the code (a malformed record, a missing export, a schema mismatch),
 * true for the subclasses that stand for I/O and infrastructure hiccups.
 */
const KILN_ERROR_BRAND = Symbol.for("kiln.error");

export class KilnError extends Error {
  readonly code: string;
  readonly hint: string;

  /**
   * `x instanceof KilnError` holds for a KilnError of any copy of this module: a pool worker runs
   * kiln precompiled next to user modules that import kiln through tsx, and an error the user's
   * code raises with its copy must keep its code, hint and retryability. Subclasses test as usual.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (this !== KilnError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && KILN_ERROR_BRAND in value;
  }

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    Object.defineProperty(this, KILN_ERROR_BRAND, { value: true });
  }

  /** Whether a retry of the same work may succeed; errors kiln raises on purpose mostly cannot. */
  get retryable(): boolean {
    return false;
  }

  /** Message plus hint, as the CLI prints it. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

/** Formats any thrown value for a person: KilnErrors with their hint, others with their message. */
export function describeError(err: unknown): string {
  if (err instanceof KilnError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Whether a failure is worth another attempt: KilnErrors say so themselves; anything else may be transient. */
export function isRetryable(err: unknown): boolean {
  return err instanceof KilnError ? err.retryable : true;
}
