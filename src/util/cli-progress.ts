/**
 * The cli-progress package, loaded the first time a bar is drawn. Bars are drawn only on a terminal,
 * by the thread that runs a step, while the modules that draw them are loaded by every kiln process
 * and by every pool worker (the precompiled engine holds them all): a static import made each of
 * them load and compile the package whether or not it drew anything.
 */
import { createRequire } from "node:module";
import type CliProgress from "cli-progress";

const requireHere = createRequire(import.meta.url);
let loaded: typeof CliProgress | undefined;

/** cli-progress's exports (MultiBar, SingleBar, Presets), required on first use. */
export function cliProgress(): typeof CliProgress {
  if (!loaded) {
    const module: typeof CliProgress = requireHere("cli-progress");
    loaded = module;
  }
  return loaded;
}
