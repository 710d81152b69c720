/**
 * The raw-bytes tokenizer: each UTF-8 byte of the text is one id (0-255), and special tokens take
 * the ids after 255 in the order given. Needs no vocabulary file; useful for byte-level models and
 * as the simplest tokenizer in tests.
 */
import { TokenizerFormatError } from "./errors.ts";
import { makeWellFormed } from "./bpe.ts";
import type { Tokenizer } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

export class ByteTokenizer implements Tokenizer {
  readonly name = "bytes";
  readonly vocabSize: number;
  readonly eosId?: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  private readonly specialById: string[];

  /** `specialTokens` get ids 256, 257, ... in order; the first one named `<|endoftext|>` is the eos. */
  constructor(specialTokens: readonly string[] = ["<|endoftext|>"]) {
    const map: Record<string, number> = {};
    specialTokens.forEach((text, i) => {
      if (text in map) throw new TokenizerFormatError("bytes", `special token ${JSON.stringify(text)} is listed twice`, "list each special token once");
      map[text] = 256 + i;
    });
    this.specialTokens = Object.freeze(map);
    this.specialById = [...specialTokens];
    this.vocabSize = 256 + specialTokens.length;
    this.eosId = map["<|endoftext|>"];
  }

  encode(text: string, endId?: number): Uint32Array {
    const bytes = encoder.encode(makeWellFormed(text));
    const ids = new Uint32Array(bytes.length + (endId === undefined ? 0 : 1));
    ids.set(bytes);
    if (endId !== undefined) ids[bytes.length] = endId;
    return ids;
  }

  encodeBatch(texts: readonly string[]): Uint32Array[] {
    return texts.map((t) => this.encode(t));
  }

  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let run: number[] = [];
    const flush = (): void => {
      if (run.length) parts.push(Uint8Array.from(run));
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 256) {
        run.push(id);
        continue;
      }
      const special = this.specialById[id - 256];
      if (special === undefined) {
        throw new TokenizerFormatError(this.name, `id ${id} at position ${i} is not in the vocabulary`, `ids run from 0 to ${this.vocabSize - 1}`);
      }
      flush();
      parts.push(encoder.encode(special));
    }
    flush();
    return decoder.decode(Buffer.concat(parts));
  }
}
