/**
 * Module hooks that load a pipeline module, and the local TypeScript files it imports, as ES
 * modules whatever package.json (or none) sits next to them. Without them a pipeline.ts in a
 * folder with no package.json, or a CommonJS one, is compiled to CommonJS; kiln itself is ESM, so
 * requiring it from there fails ("Cannot require() ES Module ... in a cycle").
 *
 * Registered by bin/kiln.mjs BEFORE tsx's hooks, so that tsx's resolve calls this one as its next
 * step and sees format "module" when it decides how to compile the file. Which files: the module
 * `loadPipeline` imports (its parent is src/graph/pipeline.ts; .js included, since a pipeline must
 * import kiln and only an ES module can), then every .ts/.tsx/.mts file outside node_modules that
 * one of those imports, transitively. `.cts`/`.cjs` files and imported `.js` files keep their
 * format (they may be real CommonJS), and so do packages under node_modules.
 */
const LOADER_URL = new URL("./pipeline.ts", import.meta.url).href;
const PIPELINE_FILE = /\.(?:ts|tsx|mts|js|jsx|mjs)$/;
const TYPESCRIPT_FILE = /\.(?:ts|tsx|mts)$/;

/** URLs of the pipeline modules and the local TypeScript files reached from them. */
const pipelineFiles = new Set();

function isLocalFile(url, extension) {
  if (!url.startsWith("file:")) return false;
  const { pathname } = new URL(url);
  return extension.test(pathname) && !pathname.includes("/node_modules/");
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  const esm = parent === LOADER_URL ? isLocalFile(resolved.url, PIPELINE_FILE) : pipelineFiles.has(parent) && isLocalFile(resolved.url, TYPESCRIPT_FILE);
  if (!esm) return resolved;
  pipelineFiles.add(resolved.url);
  return { ...resolved, format: "module" };
}
