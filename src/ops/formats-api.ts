/**
 * The slice of the file-format layer (src/io/formats.ts) that Dataset execution uses, as types,
 * plus a lazy loader. Execution imports the formats module only when a plan reads or writes files,
 * so plans over inline rows run without it.
 */
import type { InputFormat, OutputFormat } from "./logical.ts";

export interface InputSplit {
  path: string;
  format: InputFormat;
  size: number;
  start: number;
  end: number;
}

export interface FormatWriter {
  write(rows: unknown[]): Promise<void>;
  close(): Promise<{ path: string; rows: number; bytes: number }>;
  abort(): Promise<void>;
}

export interface FormatsApi {
  expandInputs(patterns: string | string[], opts?: { splitBytes?: number }): Promise<InputSplit[]>;
  readSplit(
    split: InputSplit,
    opts?: { columns?: string[]; filter?: Record<string, unknown> },
  ): AsyncIterable<{ rows: unknown[]; firstLine: number; bytes: number }>;
  openWriter(path: string, format: OutputFormat, opts?: Record<string, unknown>): FormatWriter;
  expandOutputPattern(pattern: string, shard: number, total: number): string;
}

const FORMATS_MODULE = new URL("../io/formats.ts", import.meta.url).href;
let loaded: Promise<FormatsApi> | undefined;

export function loadFormats(): Promise<FormatsApi> {
  loaded ??= import(FORMATS_MODULE) as Promise<FormatsApi>;
  return loaded;
}
