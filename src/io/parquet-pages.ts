/**
 * Where a parquet reader decompresses zstd pages. A page is read in one go: its values are decoded
 * and, for strings, JSON and booleans, copied out of it before the next page is decompressed. Such
 * columns are decompressed into one buffer this thread reuses, so their pages do not each take new
 * memory: every fresh page was faulted in 4 KiB at a time, which cost more than decompressing it
 * (reading 60 MB of text, 8 files: 340-480 ms with a buffer per page, 175-236 ms reusing one).
 * Other columns (numbers, binary values, anything hyparquet may hand on as a view of the page) get
 * a buffer per page, as the values may still point into it when the next page is read.
 */
import { parquetSchema, type FileMetaData, type SchemaTree } from "hyparquet";
import { decompress as zstdDecompress } from "zstd-napi";
import { zstdBinding, type DecompressionContext } from "./zstd-binding.ts";

/** Pages larger than this are decompressed into a buffer of their own: the reused one is not grown past it. */
export const REUSED_PAGE_MAX_BYTES = 16 * 1024 * 1024;

/** Decompressors by codec, as hyparquet's `compressors` option takes them. */
export type PageDecompressors = { ZSTD: (input: Uint8Array, outputLength: number) => Uint8Array };

/** Each page in a buffer of its own (a view of zstd-napi's result: hyparquet reads through byteOffset and byteLength). */
const pagePerBuffer: PageDecompressors = {
  ZSTD: (input) => {
    const page = zstdDecompress(input);
    return new Uint8Array(page.buffer, page.byteOffset, page.length);
  },
};

let context: DecompressionContext | undefined;
let reused: Buffer | undefined;

/** Every page into this thread's one buffer, grown to the largest page up to REUSED_PAGE_MAX_BYTES. */
const pagesInOneBuffer: PageDecompressors = {
  ZSTD: (input, outputLength) => {
    if (outputLength > REUSED_PAGE_MAX_BYTES) return pagePerBuffer.ZSTD(input, outputLength);
    if (!reused || reused.length < outputLength) reused = Buffer.allocUnsafeSlow(Math.min(REUSED_PAGE_MAX_BYTES, Math.max(outputLength, 2 * (reused?.length ?? 1 << 19))));
    context ??= new zstdBinding.DCtx();
    const length = context.decompress(reused, input);
    return new Uint8Array(reused.buffer, reused.byteOffset, length);
  },
};

/**
 * Whether hyparquet copies every value of this leaf out of its page as the page is decoded: strings
 * and JSON (BYTE_ARRAY, decoded to strings or parsed) and booleans. Numbers come back as typed-array
 * views of the page, and binary values (inside a VARIANT, for instance) as byte views.
 */
function copiedOut(leaf: SchemaTree, inVariant: boolean): boolean {
  const { type, converted_type: converted, logical_type: logical } = leaf.element;
  if (type === "BOOLEAN") return true;
  if (type !== "BYTE_ARRAY" || inVariant) return false;
  const annotation = logical?.type ?? converted;
  return annotation === undefined || annotation === "STRING" || annotation === "UTF8" || annotation === "JSON";
}

function leavesCopiedOut(node: SchemaTree, inVariant: boolean): boolean {
  const variant = inVariant || node.element.logical_type?.type === "VARIANT";
  if (node.children.length === 0) return copiedOut(node, variant);
  return node.children.every((child) => leavesCopiedOut(child, variant));
}

/**
 * The decompressors for reading `columns` of a file (top-level names; `undefined`: any column, as a
 * row filter may read columns beyond those asked for): one reused buffer when every leaf under them
 * is copied out of its page, else a buffer per page.
 */
export function pageDecompressors(metadata: FileMetaData, columns: ReadonlySet<string> | undefined): PageDecompressors {
  const read = parquetSchema(metadata).children.filter((c) => columns === undefined || columns.has(c.element.name));
  return read.every((c) => leavesCopiedOut(c, false)) ? pagesInOneBuffer : pagePerBuffer;
}
