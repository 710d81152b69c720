/**
 * The first few "at ..." frames of an error's stack, for messages that point a person at the line
 * that threw without printing the whole stack. Frames inside Node itself and inside installed
 * packages are left out, so what remains is the user's code (and kiln's).
 */

/** Frames printed by default: enough to see the throwing line and its callers. */
export const DEFAULT_FRAME_COUNT = 5;

function isInternalFrame(frame: string): boolean {
  return /\(node:|^at node:|\/node_modules\//.test(frame);
}

export interface FrameOptions {
  /** Most frames returned (default {@link DEFAULT_FRAME_COUNT}). */
  limit?: number;
  /** The frame where the caller's own machinery begins: it and every frame after it are left out. */
  stopAt?: (frame: string) => boolean;
}

/**
 * The stack's frames, trimmed, without Node-internal and node_modules frames, up to the first one
 * `stopAt` matches. Accepts an error or a stack string (as info.json stores it).
 */
export function stackFrames(errorOrStack: unknown, options: FrameOptions = {}): string[] {
  const stack = typeof errorOrStack === "string" ? errorOrStack : errorOrStack instanceof Error ? errorOrStack.stack : undefined;
  if (!stack) return [];
  const frames = stack
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("at "));
  const end = options.stopAt ? frames.findIndex(options.stopAt) : -1;
  return (end >= 0 ? frames.slice(0, end) : frames).filter((f) => !isInternalFrame(f)).slice(0, options.limit ?? DEFAULT_FRAME_COUNT);
}

/** Frames indented under a message, one per line (empty when there are none). */
export function indentFrames(frames: readonly string[], indent = "    "): string {
  return frames.map((f) => `\n${indent}${f}`).join("");
}
