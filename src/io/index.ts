/**
 * Entry point of the storage layer: loads the built-in backends and re-exports the interface.
 * Import storage from here, not from the backend files.
 */
import "./local.ts";

export * from "./filesystem.ts";
export { localFileSystem, LocalFileSystem } from "./local.ts";
