/**
 * A temp folder per test suite: created before the suite's tests, removed after them. Read `.path`
 * inside tests (it is empty until the suite starts).
 */
import { afterAll, beforeAll } from "vitest";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

export function suiteDir(prefix: string): { path: string } {
  const suite = { path: "" };
  beforeAll(async () => {
    suite.path = await fsp.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  });
  afterAll(async () => {
    if (suite.path) await fsp.rm(suite.path, { recursive: true, force: true });
  });
  return suite;
}
