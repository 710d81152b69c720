/**
 * Public surface of the sources: the registry (with the built-in embedded sources registered on
 * import), materialisation of embedded sources to JSONL parts, and the Brown text helper.
 */
import { BUILTIN_SOURCES } from "./builtin.ts";
import { registerSource } from "./registry.ts";

for (const spec of BUILTIN_SOURCES) registerSource(spec);

export {
  registerSource,
  listSources,
  getSource,
  validateSource,
  SourceError,
  type SourceSpec,
  type EmbeddedSourceSpec,
  type UrlSourceSpec,
  type FileSourceSpec,
  type GsSourceSpec,
  type SourceRecord,
  type JsonValue,
} from "./registry.ts";
export { materializeSource, readEmbeddedSource, partFileName, type MaterializedSource, type MaterializedFile } from "./materialize.ts";
export { brownToText, BROWN_GENRES } from "./brown.ts";
export { BUILTIN_SOURCES } from "./builtin.ts";
