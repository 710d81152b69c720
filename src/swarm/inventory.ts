/**
 * The inventory: per source (in sorted name order), the train tokens available, the natural share
 * q (its share of all train tokens) and the held-out split the proxies are scored on, read from
 * the tokenize steps' results. Every source must share one tokenizer and hold out some tokens.
 */
import type { TokenizedResult } from "../steps/tokenize/result.ts";
import { SwarmInputError } from "./errors.ts";

export interface SwarmInventory {
  sources: string[];
  tokenizer: string;
  available: Record<string, number>;
  naturalShare: Record<string, number>;
  heldOut: Record<string, { tokens: number; documents: number; bytes: number }>;
  /** The inventory step's version: a hash of every tokenize step's version. */
  dataVersion: string;
}

export function inventoryOf(results: Record<string, TokenizedResult>, dataVersion: string): SwarmInventory {
  const sources = Object.keys(results).sort();
  const tokenizer = results[sources[0]].tokenizer.name;
  for (const s of sources) {
    const r = results[s];
    if (r.tokenizer.name !== tokenizer) {
      throw new SwarmInputError(`source '${s}' was tokenized with ${r.tokenizer.name}, but '${sources[0]}' with ${tokenizer}`, "tokenize every source of the swarm with one tokenizer");
    }
    if (!(r.splits.train.tokens > 0)) throw new SwarmInputError(`source '${s}' has no train tokens`, "check the source's tokenize step input");
    if (!(r.splits.validation.tokens > 0 && r.splits.validation.bytes > 0)) {
      throw new SwarmInputError(`source '${s}' holds out no tokens to score proxies on`, "raise the tokenize step's validationFraction or minValidationDocuments");
    }
  }
  const total = sources.reduce((a, s) => a + results[s].splits.train.tokens, 0);
  return {
    sources,
    tokenizer,
    available: Object.fromEntries(sources.map((s) => [s, results[s].splits.train.tokens])),
    naturalShare: Object.fromEntries(sources.map((s) => [s, results[s].splits.train.tokens / total])),
    heldOut: Object.fromEntries(
      sources.map((s) => {
        const v = results[s].splits.validation;
        return [s, { tokens: v.tokens, documents: v.documents, bytes: v.bytes }];
      }),
    ),
    dataVersion,
  };
}
