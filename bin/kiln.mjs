#!/usr/bin/env node
// The `kiln` command: loads TypeScript through tsx, then hands over to src/cli/main.ts. The
// pipeline-module hooks go in first, so that tsx's resolve consults them: they make a pipeline.ts
// (and the local .ts files it imports) an ES module even outside a "type": "module" package.
import { register as registerHooks } from "node:module";
import { register as registerTypeScript } from "tsx/esm/api";

registerHooks("../src/graph/pipeline-hooks.mjs", import.meta.url);
registerTypeScript();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
