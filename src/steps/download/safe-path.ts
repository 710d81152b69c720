/**
 * Checking the names the download step writes under its output folder. Names come from URLs, from
 * listings of folders and buckets, and from users, so each is checked before any byte is written:
 * no absolute paths or drive letters, no `..` or `.` segments, no empty segments, no backslashes or
 * control characters, and the resolved path must still lie inside the output folder.
 */
import * as path from "node:path";
import { UnsafePathError } from "./errors.ts";

/** Returns `name` if it is a safe relative path; throws `UnsafePathError` naming `where` otherwise. */
export function checkRelativeName(name: string, where: string): string {
  const refuse = (reason: string): never => {
    throw new UnsafePathError(name, reason, where);
  };
  if (typeof name !== "string" || name === "") refuse("the name is empty");
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) refuse("it is an absolute path");
  if (name.includes("\\")) refuse("it contains a backslash");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) refuse("it contains a control character");
  for (const segment of name.split("/")) {
    if (segment === "..") refuse("it climbs out of the output folder with '..'");
    if (segment === "." || segment === "") refuse("it has an empty or '.' path segment");
  }
  return name;
}

/** `root` joined with a checked relative name, verified to stay inside `root` (local paths). */
export function resolveInside(root: string, name: string, where: string): string {
  checkRelativeName(name, where);
  const base = path.resolve(root);
  const full = path.resolve(base, name);
  if (!full.startsWith(base + path.sep)) throw new UnsafePathError(name, "it resolves outside the output folder", where);
  return full;
}

/**
 * The file name a URL names: its last path segment, percent-decoded. Decoding happens before the
 * check, so `..%2F..%2Fetc%2Fpasswd` is refused rather than written.
 */
export function fileNameFromUrl(url: string): string {
  const pathname = new URL(url).pathname;
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  let decoded: string;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    throw new UnsafePathError(last, "its percent-encoding is invalid", url);
  }
  if (decoded === "") throw new UnsafePathError(decoded, "the URL path ends in '/', so it names no file", url);
  return checkRelativeName(decoded, url);
}
