/**
 * xxHash from @node-rs/xxhash, loaded with `require`. The package's entry is a 29 KB CommonJS loader:
 * an ES `import` of it makes Node scan that source for its export names (cjs-module-lexer) in every
 * thread that loads it, and the scan runs long enough for V8 to optimize the lexer there, 20–40 ms
 * of compilation per thread (each pool worker, the step threads, the main thread). `require` loads
 * the same module without the scan.
 */
import { createRequire } from "node:module";
import type * as XxHash from "@node-rs/xxhash";

const xxhash: typeof XxHash = createRequire(import.meta.url)("@node-rs/xxhash");

export const { xxh3, xxh64 } = xxhash;
