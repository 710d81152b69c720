/**
 * Entry point of the storage layer: loads the built-in backends (local disk, `gs://`, read-only
 * `http(s)://`) and re-exports the interface, the GCS configuration and the file formats. Import
 * storage from here, not from the backend files.
 */
import "./local.ts";
import "./gcs.ts";
import "./http.ts";

export * from "./filesystem.ts";
export { localFileSystem, LocalFileSystem } from "./local.ts";
export { HttpFileSystem } from "./http.ts";
export { configureGcs, gcsFileSystem, GcsFileSystem, parseGsPath, type GcsOptions } from "./gcs.ts";
