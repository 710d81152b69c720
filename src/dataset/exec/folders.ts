/**
 * Intermediate folders of an execution, on local disk or on an object store (the shared scratch
 * of remote workers on a gs:// prefix, where a folder is a key prefix): list the names directly
 * below one, and remove one with everything in it.
 */
import { readdir, rm } from "node:fs/promises";
import { fileSystemFor, schemeOf } from "../../io/index.ts";

export async function removeFolder(dir: string): Promise<void> {
  if (schemeOf(dir) === "file") await rm(dir, { recursive: true, force: true });
  else await fileSystemFor(dir).deleteTree(dir);
}

/** Names directly below `dir` (files and folders); none when it does not exist. */
export async function namesBelow(dir: string): Promise<string[]> {
  if (schemeOf(dir) === "file") return readdir(dir).catch(() => []);
  const base = dir.replace(/\/+$/, "") + "/";
  const names = new Set<string>();
  for (const f of await fileSystemFor(dir).list(base)) if (f.path.startsWith(base)) names.add(f.path.slice(base.length).split("/")[0]);
  return [...names];
}
