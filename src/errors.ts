/**
 * The base of every error kiln raises on purpose: a stable `code` a program can branch on, the
 * message saying what went wrong (naming the file, record, step or field), and a `hint` saying what
 * to do about it. Each layer defines its own subclasses next to the code that throws them.
 */
export class KilnError extends Error {
  readonly code: string;
  readonly hint: string;

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
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
