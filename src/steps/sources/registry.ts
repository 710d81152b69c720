/**
 * The source registry: what a pipeline can name as input data. A source spec is plain data
 * (JSON-able, so it can enter a step's version): an `embedded` source is read from a package that
 * ships with kiln (Brown, SpamAssassin, nlp-corpus, installed source code) by a named built-in
 * reader; `url`, `file` and `gs` sources point at data a user brings. The built-in embedded sources
 * are registered when this folder's index is imported; pipelines register their own with
 * `registerSource`.
 */
import { KilnError } from "../../errors.ts";

/** Any value that survives JSON round-tripping. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

interface SourceBase {
  /** Unique name; also the folder the source is written to. Letters, digits, '.', '_' and '-'. */
  name: string;
  /** What the data is, for listings (optional). */
  description?: string;
  /** Rough size of the materialised data, for planning and listings (optional). */
  approxBytes?: number;
  /** Licence or terms of the data, when known. */
  license?: string;
}

/** Data shipped in an installed package, read by one of the built-in readers. */
export interface EmbeddedSourceSpec extends SourceBase {
  kind: "embedded";
  reader: EmbeddedReaderName;
  /** Reader options (JSON), e.g. `{ genres: ["a", "b"] }` for Brown. */
  options?: { [key: string]: JsonValue };
  /** Records per output part (default 2,000); parts are also cut at about 64 MiB. */
  recordsPerPart?: number;
  /** Write `.jsonl.zst` instead of `.jsonl`. */
  compress?: boolean;
}

/** One file fetched over http(s). */
export interface UrlSourceSpec extends SourceBase {
  kind: "url";
  url: string;
  /** File name inside the source's folder; defaults to the last segment of the URL path. */
  fileName?: string;
  /** Expected sha256 (hex); a mismatch fails the download. */
  sha256?: string;
}

/** A local file, or every file below a local folder. */
export interface FileSourceSpec extends SourceBase {
  kind: "file";
  path: string;
}

/** One `gs://` object, or every object below a `gs://` prefix ending in '/'. */
export interface GsSourceSpec extends SourceBase {
  kind: "gs";
  url: string;
}

export type SourceSpec = EmbeddedSourceSpec | UrlSourceSpec | FileSourceSpec | GsSourceSpec;

export type EmbeddedReaderName = "brown" | "spam-assassin" | "nlp-corpus" | "source-code";

/** One materialised record. `source_id` is stable within the source (file name plus index). */
export interface SourceRecord {
  id?: string;
  text: string;
  source: string;
  source_id: string;
  [metadata: string]: JsonValue | undefined;
}

export class SourceError extends KilnError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super("KILN_SOURCE", message, hint, options);
  }
}

const SOURCE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KINDS = new Set(["embedded", "url", "file", "gs"]);
const READERS = new Set<string>(["brown", "spam-assassin", "nlp-corpus", "source-code"]);

/** Checks a spec's shape, naming the source and field at fault. Returns the spec. */
export function validateSource<S extends SourceSpec>(spec: S): S {
  const label = `source ${JSON.stringify((spec as { name?: unknown })?.name ?? "(unnamed)")}`;
  const fail = (field: string, problem: string, hint: string): never => {
    throw new SourceError(`${label}: field '${field}' ${problem}`, hint);
  };
  if (!spec || typeof spec !== "object") throw new SourceError("a source spec must be an object", "pass { name, kind, ... }");
  if (typeof spec.name !== "string" || !SOURCE_NAME_RE.test(spec.name) || spec.name.includes("..")) {
    fail("name", "must be one path segment of letters, digits, '.', '_' or '-'", "rename it, e.g. 'my-corpus'");
  }
  if (!KINDS.has(spec.kind)) fail("kind", `is ${JSON.stringify(spec.kind)}`, "use 'embedded', 'url', 'file' or 'gs'");
  if (spec.description !== undefined && typeof spec.description !== "string") fail("description", "is not text", "describe the data in a sentence, or leave it out");
  if (spec.approxBytes !== undefined && (typeof spec.approxBytes !== "number" || !(spec.approxBytes >= 0))) {
    fail("approxBytes", "must be a non-negative number", "give a rough size in bytes (0 if unknown)");
  }
  switch (spec.kind) {
    case "embedded":
      if (!READERS.has(spec.reader)) fail("reader", `is ${JSON.stringify(spec.reader)}`, `use one of: ${[...READERS].join(", ")}`);
      break;
    case "url":
      if (typeof spec.url !== "string" || !/^https?:\/\//i.test(spec.url)) fail("url", "must start with http:// or https://", "give a full URL");
      if (spec.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(spec.sha256)) fail("sha256", "is not 64 hex digits", "paste the sha256 hex digest");
      break;
    case "file":
      if (typeof spec.path !== "string" || spec.path === "") fail("path", "is missing", "give a local file or folder path");
      break;
    case "gs":
      if (typeof spec.url !== "string" || !spec.url.startsWith("gs://")) fail("url", "must start with gs://", "give gs://bucket/object or gs://bucket/prefix/");
      break;
  }
  return spec;
}

const registry = new Map<string, SourceSpec>();

/** Adds a source under its name. Registering a different spec under a taken name is an error. */
export function registerSource(spec: SourceSpec): void {
  validateSource(spec);
  const existing = registry.get(spec.name);
  if (existing && JSON.stringify(existing) !== JSON.stringify(spec)) {
    throw new SourceError(`a different source named '${spec.name}' is already registered`, "pick another name for your source");
  }
  registry.set(spec.name, spec);
}

/** Every registered source, sorted by name. */
export function listSources(): SourceSpec[] {
  return [...registry.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The source registered as `name`; throws naming the known sources when there is none. */
export function getSource(name: string): SourceSpec {
  const spec = registry.get(name);
  if (!spec) {
    throw new SourceError(
      `no source named '${name}'`,
      `known sources: ${listSources().map((s) => s.name).join(", ") || "(none)"}; register yours with registerSource()`,
    );
  }
  return spec;
}
