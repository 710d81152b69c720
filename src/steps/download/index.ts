/**
 * Public surface of the download step: the step itself, the function that does its work, the
 * single-file http and copy helpers, the retry policy and the typed errors.
 */
export {
  downloadStep,
  runDownload,
  resolveDownloadSpecs,
  type DownloadSpec,
  type DownloadOptions,
  type DownloadSettings,
  type DownloadResult,
  type DownloadedFileEntry,
  type RunDownloadInput,
} from "./step.ts";
export { downloadHttp, sha256OfFile, type HttpDownloadOptions, type DownloadEvent, type DownloadedFile } from "./http.ts";
export { copyToLocal, type CopyOptions } from "./copy.ts";
export { DEFAULT_RETRY, backoffDelay, isRetryable, type RetryPolicy } from "./retry.ts";
export { checkRelativeName, fileNameFromUrl } from "./safe-path.ts";
export { UnsafePathError, FileTooLargeError, HttpStatusError, ChecksumMismatchError, DownloadError } from "./errors.ts";
