/**
 * zstd-napi's native binding (contexts that decompress into buffers the caller keeps), loaded with
 * `require` as util/xxhash.ts loads its package: no scan of the CommonJS source for export names.
 */
import { createRequire } from "node:module";
import type * as ZstdBinding from "zstd-napi/binding.js";

export const zstdBinding: typeof ZstdBinding = createRequire(import.meta.url)("zstd-napi/binding");
export type DecompressionContext = ZstdBinding.DCtx;
