/**
 * Lineage as text: an indented tree, the asked-for step first, each input below its consumer with
 * the path it was read from; per step its version, versioned config, code fingerprint, git commit,
 * host, times, counters, where a copy came from, and the downloaded files with their sha256.
 */
import { formatBytes, formatDuration, formatTime } from "../format.ts";
import type { Lineage, LineageStep } from "./walk.ts";

const MAX_VALUE_CHARS = 160;
const MAX_FILES = 20;

function clip(text: string): string {
  return text.length <= MAX_VALUE_CHARS ? text : `${text.slice(0, MAX_VALUE_CHARS)}… (${text.length} chars; --json shows all)`;
}

function stepLines(step: LineageStep, pad: string, out: string[]): void {
  out.push(`${pad}${step.name} @${step.version.slice(0, 8)} [${step.state ?? "no status"}]`);
  const field = (label: string, value: string) => out.push(`${pad}  ${(label ? `${label}:` : "").padEnd(11)} ${value}`);
  field("output", step.outputPath);
  field("version", step.version);
  const config = Object.entries(step.versionedConfig);
  if (!config.length) field("config", "(nothing versioned)");
  config.forEach(([key, value], i) => field(i === 0 ? "config" : "", clip(`${key} = ${JSON.stringify(value)}`)));
  field("code", `fingerprint ${step.codeFingerprint}, git commit ${step.gitCommit ?? "(none)"}`);
  field("ran", `on ${step.host}, ${formatTime(step.startedAt)} → ${formatTime(step.endedAt)} (${formatDuration(step.durationMs)})`);
  const counters = Object.entries(step.counters);
  if (counters.length) field("counters", clip(counters.map(([k, v]) => `${k}=${v}`).join(", ")));
  const p = step.provenance;
  if (p) {
    const how = p.mode === "copy" ? `copied from region ${p.region}` : `read in place in region ${p.region}`;
    field("provenance", `${how}: ${p.sourcePath} (${p.files} files, ${formatBytes(p.bytes)}, at ${formatTime(p.copiedAt)})`);
  }
  if (step.files) {
    field("files", `${step.files.length} downloaded (path, bytes, sha256, source)`);
    for (const f of step.files.slice(0, MAX_FILES)) out.push(`${pad}    ${f.path}  ${f.bytes}  sha256:${f.sha256}  [${f.source}]`);
    if (step.files.length > MAX_FILES) out.push(`${pad}    … and ${step.files.length - MAX_FILES} more (--json lists all)`);
  }
  step.inputs.forEach((input, i) => {
    const last = i === step.inputs.length - 1;
    const via = input.recordedPath ? ` (recorded as ${input.recordedPath})` : "";
    out.push(`${pad}  ${last ? "└─" : "├─"} input ${input.input} ← ${input.path}${via}`);
    const child = `${pad}  ${last ? "   " : "│  "}`;
    if ("step" in input) stepLines(input.step, child, out);
    else if ("seeAbove" in input) out.push(`${child}${input.seeAbove.name} @${input.seeAbove.version.slice(0, 8)}: shown above`);
    else out.push(`${child}(missing: ${input.missing})`);
  });
}

export function formatLineage(lineage: Lineage): string {
  const out = [`lineage of ${lineage.target}${lineage.file ? ` (${lineage.file} in ${lineage.root.outputPath})` : ""}`, ""];
  stepLines(lineage.root, "", out);
  return out.join("\n") + "\n";
}
