/**
 * Errors of loading a pipeline module, told so that a person can fix them: a syntax error shows
 * the compiler's message at file:line:column (1-based) with the offending line and a caret; an
 * exception thrown while the module (or something it imports) runs shows its first stack frames;
 * a module that cannot be found or resolved shows Node's message.
 */
import { readFileSync } from "node:fs";
import { KilnError } from "../errors.ts";
import { indentFrames, stackFrames } from "../util/stack-frames.ts";

export class PipelineLoadError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? "KILN_PIPELINE_LOAD", message, hint, options);
  }
}

/** One compiler diagnostic: where (line and column 1-based) and what. */
export interface SyntaxDiagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Most diagnostics listed from one failed compile. */
const MAX_DIAGNOSTICS = 5;
/** Longest excerpt of a source line shown under a diagnostic. */
const EXCERPT_WIDTH = 100;

/**
 * The diagnostics in a TypeScript compiler failure ("Transform failed with N errors:" followed by
 * `file:line:column: ERROR: text` lines, the column 0-based); none when `message` is not one.
 */
export function parseSyntaxDiagnostics(message: string): SyntaxDiagnostic[] {
  const out: SyntaxDiagnostic[] = [];
  for (const m of message.matchAll(/^(.+?):(\d+):(\d+): ERROR: (.+)$/gm)) {
    out.push({ file: m[1], line: Number(m[2]), column: Number(m[3]) + 1, message: m[4] });
  }
  return out;
}

/** The source line of a diagnostic with a caret under its column, or "" when the file is unreadable. */
function sourceExcerpt(d: SyntaxDiagnostic): string {
  let text: string | undefined;
  try {
    text = readFileSync(d.file, "utf8").split(/\r?\n/)[d.line - 1];
  } catch {
    return "";
  }
  if (text === undefined) return "";
  const start = Math.max(0, Math.min(d.column - 1 - EXCERPT_WIDTH / 2, text.length - EXCERPT_WIDTH));
  const shown = text.slice(start, start + EXCERPT_WIDTH);
  const gutter = String(d.line);
  const pad = shown.slice(0, d.column - 1 - start).replace(/[^\t]/g, " ");
  return `\n    ${gutter} | ${shown}\n    ${" ".repeat(gutter.length)} | ${pad}^`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errorCode(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** Where kiln's loader calls `import()`: the frames from there on say nothing about the pipeline. */
const isLoaderFrame = (frame: string) => frame.includes("/src/graph/pipeline.ts:");

/** Turns whatever `import()` of a pipeline module threw into an error that says what to fix. */
export function pipelineImportError(file: string, err: unknown): PipelineLoadError {
  const diagnostics = parseSyntaxDiagnostics(errorMessage(err));
  if (diagnostics.length) {
    const listed = diagnostics
      .slice(0, MAX_DIAGNOSTICS)
      .map((d) => `\n  ${d.file}:${d.line}:${d.column}: ${d.message}${sourceExcerpt(d)}`)
      .join("");
    const more = diagnostics.length > MAX_DIAGNOSTICS ? `\n  (and ${diagnostics.length - MAX_DIAGNOSTICS} more)` : "";
    return new PipelineLoadError(`syntax error in pipeline module ${file}:${listed}${more}`, "fix the code at the position shown, then run again", {
      cause: err,
      code: "KILN_PIPELINE_SYNTAX",
    });
  }
  const code = errorCode(err);
  if (code === "ERR_REQUIRE_CYCLE_MODULE") {
    return new PipelineLoadError(`failed to import pipeline module ${file}: ${errorMessage(err).split("\n")[0]}`, "the module was loaded as CommonJS: run it with the kiln command (bin/kiln.mjs), name it .mts, or put it in a package whose package.json says \"type\": \"module\"", { cause: err });
  }
  // Node's own loader errors (a module not found, say) carry only resolver frames.
  const frames = code?.startsWith("ERR_") ? [] : stackFrames(err, { stopAt: isLoaderFrame });
  const hint = err instanceof KilnError ? err.hint : frames.length ? "fix the error at the first frame shown" : "fix the error above";
  return new PipelineLoadError(`failed to import pipeline module ${file}: ${errorMessage(err)}${indentFrames(frames)}`, hint, { cause: err });
}
