/**
 * The byte-level alphabet of GPT-2 style tokenizer files: each of the 256 byte values is written as
 * one printable character (printable Latin-1 bytes stand for themselves, the others are shifted to
 * U+0100 and up, in byte order), so that a vocabulary of byte strings can be stored as JSON text.
 * Used to read and write Hugging Face tokenizer.json vocabularies and merges.
 */

function buildAlphabet(): string[] {
  const chars: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return chars;
}

const CHAR_OF_BYTE = buildAlphabet();
const BYTE_OF_CHAR = new Map<string, number>(CHAR_OF_BYTE.map((c, b) => [c, b]));

/** The byte-level text of some bytes. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += CHAR_OF_BYTE[bytes[i]];
  return s;
}

/** The bytes of byte-level text, or undefined when a character is outside the alphabet. */
export function byteLevelToBytes(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const b = BYTE_OF_CHAR.get(text[i]);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}
