/**
 * Suite hooks for tests that run kiln against gs:// paths: start the fake GCS server before the
 * suite, point kiln's GCS client at it (no retries), and undo both after. The returned holder's
 * `server` is set once the suite has started.
 */
import { afterAll, beforeAll } from "vitest";
import { configureGcs } from "../../src/io/index.ts";
import { startFakeGcsServer, type FakeGcsServer } from "./gcs-server.ts";

export function useFakeGcs(): { server: FakeGcsServer } {
  const holder = {} as { server: FakeGcsServer };
  beforeAll(async () => {
    holder.server = await startFakeGcsServer();
    configureGcs({ apiEndpoint: holder.server.endpoint, maxRetries: 0 });
  });
  afterAll(async () => {
    configureGcs({});
    await holder.server?.close();
  });
  return holder;
}
