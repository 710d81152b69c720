/**
 * A user's row function for the fixed-cost benchmark: its module imports kiln by its package name,
 * as a pipeline's own functions do, so a pool worker loads kiln's API with it.
 */
import { KilnError } from "kiln";

export const FIXED_COST_FUNCTIONS = import.meta.url;

/** The record with its whitespace-separated word count. */
export function withWordCount(row: { text?: unknown }): { text: string; words: number } {
  if (typeof row.text !== "string") throw new KilnError("KILN_BENCH_BAD_RECORD", "a record without a text field", "give every record a string text");
  return { text: row.text, words: row.text.split(/\s+/).filter(Boolean).length };
}
