/**
 * The tokenize step's row functions, module-level so that any executor runs them by reference
 * (`fn(TOKENIZE_FUNCTIONS, f)`). `encodeDocuments` (an async factory: it loads the tokenizer once
 * per thread) encodes each record's text, appends the end-of-document id, and assigns the document
 * to the train or the validation split by a hash of its id; `splitOf` routes it to that split's
 * token shard. Tokens, documents and UTF-8 bytes per split, and empty documents, are user counters.
 */
import { xxh3 } from "../../util/xxhash.ts";
import type { UserContext } from "../../dataset/index.ts";
import { KilnError } from "../../errors.ts";
import { loadTokenizer } from "../../tokenizers/load.ts";
import type { Tokenizer } from "../../tokenizers/types.ts";

/** This module's URL, for fn(TOKENIZE_FUNCTIONS, f). */
export const TOKENIZE_FUNCTIONS = import.meta.url;

export class TokenizeInputError extends KilnError {
  constructor(message: string) {
    super("KILN_TOKENIZE_INPUT", message, "tokenize reads records with a string text field (see the textField option)");
  }
}

const TWO_POW_64 = 2 ** 64;

/** True when the document with this id belongs to the validation split. */
export function isValidation(id: string, fraction: number): boolean {
  if (fraction <= 0) return false;
  if (fraction >= 1) return true;
  return Number(xxh3.xxh64(id, 0x6b696c6en)) / TWO_POW_64 < fraction;
}

const loaded = new Map<string, Promise<Tokenizer>>();

/** One load per tokenizer and thread (tokenizer.json files included). */
export function tokenizerFor(spec: string): Promise<Tokenizer> {
  let t = loaded.get(spec);
  if (!t) loaded.set(spec, (t = loadTokenizer(spec)));
  return t;
}

/** A document's tokens (EOS appended) and the split it belongs to. */
export interface EncodedDocument {
  split: "train" | "validation";
  tokens: Uint32Array;
}

export interface EncodeArgs {
  tokenizer: string;
  textField: string;
  idField: string;
  validationFraction: number;
}

/** Factory (async: loads the tokenizer) of the flatMap from a record to its encoded document, or nothing when its text is empty. */
export async function encodeDocuments(args: EncodeArgs): Promise<(row: unknown, ctx: UserContext) => EncodedDocument[]> {
  const tokenizer = await tokenizerFor(args.tokenizer);
  const eos = tokenizer.eosId;
  if (eos === undefined) throw new TokenizeInputError(`tokenizer ${tokenizer.name} has no end-of-text token to separate documents`);
  const counterNames = {
    train: { tokens: "train.tokens", documents: "train.documents", bytes: "train.bytes" },
    validation: { tokens: "validation.tokens", documents: "validation.documents", bytes: "validation.bytes" },
  };
  // Where a record is, for messages only: computed when a message needs it, not per record.
  const where = (ctx: UserContext): string => {
    const at = ctx.position();
    return at ? `${at.source} ${at.unit} ${at.record}` : `shard ${ctx.shard}`;
  };
  return (row, ctx) => {
    const record = row !== null && typeof row === "object" ? row : {};
    const text: unknown = Reflect.get(record, args.textField);
    if (typeof text !== "string") throw new TokenizeInputError(`${where(ctx)}: field '${args.textField}' is ${text === undefined ? "missing" : typeof text}, not a string`);
    if (text.length === 0) {
      ctx.counters.increment("empty_documents");
      return [];
    }
    const id: unknown = Reflect.get(record, args.idField);
    const split = isValidation(typeof id === "string" ? id : where(ctx), args.validationFraction) ? "validation" : "train";
    const tokens = tokenizer.encode(text, eos);
    const names = counterNames[split];
    ctx.counters.increment(names.tokens, tokens.length);
    ctx.counters.increment(names.documents);
    ctx.counters.increment(names.bytes, Buffer.byteLength(text, "utf8"));
    return [{ split, tokens }];
  };
}

export function splitOf(doc: EncodedDocument): "train" | "validation" {
  return doc.split;
}
