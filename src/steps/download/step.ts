/**
 * The download step: brings every listed source into the step's output folder, one folder per
 * source (`<output>/<source name>/...`). http(s) URLs are fetched with resume and retries, local
 * files and folders and `gs://` objects and prefixes are copied through the storage layer, and
 * embedded sources are materialised as JSONL parts. Files move in parallel up to `concurrency`, each
 * appears under its final name only when complete, and files finished by an earlier interrupted run
 * are kept rather than fetched again. The result lists every file with its size and sha256, paths
 * relative to the output folder so that it stays true when the output is copied to another region.
 * The sources enter the step's version; limits, retries and concurrency do not.
 */
import { createHash } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { describeError } from "../../errors.ts";
import { step, type Step } from "../../graph/step.ts";
import { versioned, type Versioned } from "../../graph/versioned.ts";
import { fileSystemFor, joinPath, localFileSystem, schemeOf, type FileSystem } from "../../io/index.ts";
import { getSource, materializeSource, SourceError, validateSource, type SourceSpec } from "../sources/index.ts";
import type { CounterSink } from "../text/normalize.ts";
import { copyToLocal } from "./copy.ts";
import { DownloadError } from "./errors.ts";
import { downloadHttp, sha256OfFile, type DownloadedFile } from "./http.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";
import { checkRelativeName, fileNameFromUrl, resolveInside } from "./safe-path.ts";

/** A registered source's name, or a source spec. */
export type DownloadSpec = string | SourceSpec;

export interface DownloadSettings {
  /** Files moved at once (default 4). */
  concurrency?: number;
  /** Largest file accepted, in bytes (default 64 GiB); larger ones fail the step. */
  maxFileBytes?: number;
  retry?: Partial<RetryPolicy>;
  /** An http attempt with no data for this long is retried (default 60 s). */
  idleTimeoutMs?: number;
}

export interface DownloadOptions extends DownloadSettings {
  /** Step name (default "download"). */
  name?: string;
  sources: DownloadSpec[];
}

export interface DownloadedFileEntry {
  /** Relative to the step's output folder, e.g. "brown-press/part-00000-of-00001.jsonl". */
  path: string;
  bytes: number;
  sha256: string;
  source: string;
}

export interface DownloadResult {
  files: DownloadedFileEntry[];
}

export interface DownloadConfig extends DownloadSettings {
  sources: Versioned<SourceSpec[]>;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_MAX_FILE_BYTES = 64 * 1024 ** 3;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Looks up names, validates specs, and refuses two sources with one name (they share a folder). */
export function resolveDownloadSpecs(specs: DownloadSpec[]): SourceSpec[] {
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new SourceError("the download step has no sources", "list at least one source name or spec in 'sources'");
  }
  const seen = new Set<string>();
  return specs.map((s) => {
    const spec = typeof s === "string" ? getSource(s) : validateSource(s);
    if (seen.has(spec.name)) {
      throw new SourceError(`source '${spec.name}' is listed twice`, "give each source its own name; each gets its own folder");
    }
    seen.add(spec.name);
    return spec;
  });
}

/** Defines a download step for `options.sources`. */
export function downloadStep(options: DownloadOptions): Step<DownloadConfig, DownloadResult, {}> {
  const sources = resolveDownloadSpecs(options.sources);
  const config: DownloadConfig = {
    sources: versioned(sources),
    concurrency: options.concurrency,
    maxFileBytes: options.maxFileBytes,
    retry: options.retry,
    idleTimeoutMs: options.idleTimeoutMs,
  };
  return step<DownloadConfig, DownloadResult, {}>({
    name: options.name ?? "download",
    description: `download ${sources.map((s) => s.name).join(", ")}`,
    config,
    run: (ctx) =>
      runDownload({
        concurrency: ctx.config.concurrency,
        maxFileBytes: ctx.config.maxFileBytes,
        retry: ctx.config.retry,
        idleTimeoutMs: ctx.config.idleTimeoutMs,
        sources: ctx.config.sources,
        outputPath: ctx.outputPath,
        fs: ctx.fs,
        counters: ctx.counters,
        log: (m) => ctx.log(m),
        signal: ctx.signal,
        workDir: ctx.workDir,
      }),
  });
}

export interface RunDownloadInput extends DownloadSettings {
  sources: SourceSpec[];
  outputPath: string;
  fs?: FileSystem;
  counters?: CounterSink;
  log?: (message: string) => void;
  signal?: AbortSignal;
  /** Local folder where remote outputs are assembled before upload (default: one in the OS temp folder). */
  workDir?: string;
}

interface FileTask {
  source: SourceSpec;
  /** Relative to the output folder. */
  relative: string;
  fetch: (localTarget: string) => Promise<DownloadedFile>;
}

function toLocalPath(p: string): string {
  return p.startsWith("file://") ? fileURLToPath(p) : p;
}

/** Does the work of the download step; exported for callers that run it outside a pipeline. */
export async function runDownload(input: RunDownloadInput): Promise<DownloadResult> {
  const outputFs = input.fs ?? fileSystemFor(input.outputPath);
  const counters = input.counters;
  const log = input.log ?? (() => undefined);
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...input.retry };
  const maxBytes = input.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const isLocal = schemeOf(input.outputPath) === "file";
  // Remote outputs are assembled in a local staging folder (so partial files can resume), then uploaded.
  const workDir = isLocal
    ? toLocalPath(input.outputPath)
    : path.join(input.workDir ?? os.tmpdir(), "kiln-download", createHash("sha256").update(input.outputPath).digest("hex").slice(0, 16));
  const files: DownloadedFileEntry[] = [];

  const tasks: FileTask[] = [];
  for (const source of resolveDownloadSpecs(input.sources)) {
    if (source.kind === "embedded") {
      input.signal?.throwIfAborted();
      const made = await materializeSource(source, input.outputPath, { fs: outputFs, signal: input.signal });
      counters?.increment("records_materialized", made.records);
      for (const f of made.files) {
        files.push({ path: f.path.slice(input.outputPath.replace(/\/+$/, "").length + 1), bytes: f.bytes, sha256: f.sha256, source: source.name });
      }
      log(`materialised ${source.name}: ${made.records} records in ${made.files.length} file(s)`);
    } else {
      tasks.push(...(await planSource(source, { maxBytes, retry, input })));
    }
  }

  const limit = pLimit(Math.max(1, input.concurrency ?? DEFAULT_CONCURRENCY));
  const settled = await Promise.allSettled(
    tasks.map((task) =>
      limit(async () => {
        input.signal?.throwIfAborted();
        const entry = await runTask(task, { workDir, isLocal, outputFs, input, counters });
        files.push(entry);
      }),
    ),
  );
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failures.length > 0) {
    for (const f of failures.slice(1)) log(`also failed: ${describeError(f.reason)}`);
    throw failures[0].reason;
  }
  // Staged copies were uploaded one by one; what is left of the staging folder is empty folders.
  if (!isLocal) await fsp.rm(workDir, { recursive: true, force: true });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files };
}

async function runTask(
  task: FileTask,
  env: { workDir: string; isLocal: boolean; outputFs: FileSystem; input: RunDownloadInput; counters?: CounterSink },
): Promise<DownloadedFileEntry> {
  const localTarget = resolveInside(env.workDir, task.relative, task.source.name);
  const finalPath = joinPath(env.input.outputPath, task.relative);
  const base = { path: task.relative, source: task.source.name };
  // A file finished by an earlier run of this step is complete (it was renamed into place only then).
  if (env.isLocal) {
    const st = await fsp.stat(localTarget).catch(() => null);
    if (st?.isFile()) {
      env.counters?.increment("files_reused");
      return { ...base, bytes: st.size, sha256: await sha256OfFile(localTarget) };
    }
  } else if (await env.outputFs.exists(finalPath)) {
    env.counters?.increment("files_reused");
    return { ...base, ...(await hashRemote(env.outputFs, finalPath)) };
  }
  const got = await task.fetch(localTarget);
  if (!env.isLocal) {
    if (env.outputFs.writeAtomicFromFile) await env.outputFs.writeAtomicFromFile(finalPath, localTarget);
    else await env.outputFs.writeAtomic(finalPath, await fsp.readFile(localTarget));
    await fsp.rm(localTarget, { force: true });
  }
  env.counters?.increment("files_downloaded");
  env.counters?.increment("bytes_downloaded", got.bytes);
  env.input.log?.(`fetched ${task.relative} (${got.bytes} bytes${got.attempts > 1 ? `, ${got.attempts} attempts` : ""})`);
  return { ...base, bytes: got.bytes, sha256: got.sha256 };
}

/** Size and sha256 of a file on any backend, streamed where the backend can stream. */
async function hashRemote(fs: FileSystem, file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  if (fs.readStream) {
    for await (const chunk of fs.readStream(file)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } else {
    const data = await fs.read(file);
    hash.update(data);
    bytes = data.length;
  }
  return { bytes, sha256: hash.digest("hex") };
}

async function planSource(
  source: Exclude<SourceSpec, { kind: "embedded" }>,
  env: { maxBytes: number; retry: RetryPolicy; input: RunDownloadInput },
): Promise<FileTask[]> {
  const { maxBytes, retry, input } = env;
  const copyOptions = {
    maxBytes,
    retry,
    signal: input.signal,
    onRetry: (attempt: number, error: string) => {
      input.counters?.increment("download_retries");
      input.log?.(`retry ${attempt} of a copy from source '${source.name}': ${error}`);
    },
  };
  const inFolder = (name: string, where: string): string => `${source.name}/${checkRelativeName(name, where)}`;

  if (source.kind === "url") {
    const name = source.fileName !== undefined ? checkRelativeName(source.fileName, `source '${source.name}'`) : fileNameFromUrl(source.url);
    return [
      {
        source,
        relative: `${source.name}/${name}`,
        fetch: (target) =>
          downloadHttp(source.url, target, {
            maxBytes,
            retry,
            idleTimeoutMs: input.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
            sha256: source.sha256,
            signal: input.signal,
            onEvent: (e) => {
              if (e.type === "retry") {
                input.counters?.increment("download_retries");
                input.log?.(`retry ${e.attempt} of ${e.url}: ${e.error}`);
              } else {
                input.counters?.increment("downloads_resumed");
                input.log?.(`resuming ${e.url} from byte ${e.fromByte}`);
              }
            },
          }),
      },
    ];
  }

  const isPrefix = source.kind === "gs" ? source.url.endsWith("/") : (await fsp.stat(source.path).catch(() => null))?.isDirectory();
  const location = source.kind === "gs" ? source.url : path.resolve(source.path);
  const sourceFs = source.kind === "gs" ? fileSystemFor(source.url) : localFileSystem;
  if (!isPrefix) {
    if (!(await sourceFs.exists(location))) {
      throw new DownloadError(`source '${source.name}': ${location} does not exist`, "check the path or url in the source spec");
    }
    const name = location.slice(location.lastIndexOf("/") + 1);
    return [{ source, relative: inFolder(name, location), fetch: (target) => copyToLocal(sourceFs, location, target, copyOptions) }];
  }
  const prefix = location.endsWith("/") ? location : `${location}/`;
  const listed = await sourceFs.list(prefix);
  if (listed.length === 0) {
    throw new DownloadError(`source '${source.name}': nothing found below ${prefix}`, "check the folder or prefix; an empty source is almost always a mistake");
  }
  return listed.map((f) => {
    const relativeName = f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.path;
    return { source, relative: inFolder(relativeName, f.path), fetch: (target: string) => copyToLocal(sourceFs, f.path, target, copyOptions) };
  });
}
