/**
 * Progress of a Dataset execution. On a terminal: one live cli-progress bar per stage (shards
 * done/total, records/s, MB/s, ETA). Off a terminal: a plain log line per running stage at least
 * every `intervalMs` (8 s by default, from a timer, so a stage of long tasks is never silent) and
 * when the stage ends (cli-progress would print nothing there without `noTTYOutput`, and bars in
 * log files are noise). Rates are counted from finished tasks; the ETA from shards done so far.
 */
import type CliProgress from "cli-progress";
import { cliProgress } from "../../util/cli-progress.ts";
import type { TaskCounters } from "./task.ts";

export interface ProgressReporter {
  stageStarted(stage: number, shards: number): void;
  taskFinished(stage: number, counters: TaskCounters): void;
  stageFinished(stage: number): void;
  close(): void;
}

export interface ProgressOptions {
  /** "auto": bars on a TTY, log lines otherwise. */
  mode?: "auto" | "bars" | "log" | "off";
  log?: (line: string) => void;
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  /** Prefix of every line (e.g. the step's name). */
  label?: string;
}

interface StageState {
  shards: number;
  done: number;
  records: number;
  bytes: number;
  started: number;
  lastLog: number;
  bar?: CliProgress.SingleBar;
}

export function createProgress(opts: ProgressOptions = {}): ProgressReporter {
  const stream = opts.stream ?? process.stderr;
  const mode = opts.mode === "auto" || opts.mode === undefined ? (stream.isTTY ? "bars" : "log") : opts.mode;
  const log = opts.log ?? ((line: string) => stream.write(line + "\n"));
  // 8 s: under the 10 s after which the step runner says a silent step is still running.
  const interval = opts.intervalMs ?? 8_000;
  const prefix = opts.label ? `${opts.label}: ` : "";
  const stages = new Map<number, StageState>();
  const multi =
    mode === "bars"
      ? new (cliProgress().MultiBar)(
          { stream, format: `${prefix}stage {stage} |{bar}| {value}/{total} shards | {rps} rec/s | {mbps} MB/s | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: false },
          cliProgress().Presets.shades_classic,
        )
      : undefined;

  const rates = (s: StageState) => {
    const secs = Math.max((Date.now() - s.started) / 1000, 1e-3);
    return { rps: Math.round(s.records / secs), mbps: (s.bytes / 1e6 / secs).toFixed(1) };
  };
  const line = (stage: number, s: StageState, final: boolean) => {
    s.lastLog = Date.now();
    const r = rates(s);
    const elapsed = Math.round((Date.now() - s.started) / 1000);
    const eta = final ? "" : s.done > 0 ? `, eta ${Math.round((((Date.now() - s.started) / s.done) * (s.shards - s.done)) / 1000)} s` : ", eta unknown";
    log(`${prefix}stage ${stage}: ${s.done}/${s.shards} shards, ${s.records} records, ${r.rps} rec/s, ${r.mbps} MB/s, ${elapsed} s${eta}${final ? " (done)" : ""}`);
  };
  const timer =
    mode === "log"
      ? setInterval(() => {
          for (const [stage, s] of stages) if (Date.now() - s.lastLog >= interval) line(stage, s, false);
        }, Math.max(50, Math.min(interval, 1000)))
      : undefined;
  timer?.unref();

  return {
    stageStarted(stage, shards) {
      if (mode === "off") return;
      const s: StageState = { shards, done: 0, records: 0, bytes: 0, started: Date.now(), lastLog: Date.now() };
      if (multi) s.bar = multi.create(shards, 0, { stage, rps: 0, mbps: "0.0" });
      stages.set(stage, s);
    },
    taskFinished(stage, counters) {
      const s = stages.get(stage);
      if (!s) return;
      s.done++;
      s.records += counters.recordsIn;
      s.bytes += counters.bytesIn;
      if (s.bar) s.bar.update(s.done, { stage, ...rates(s) });
      else if (Date.now() - s.lastLog >= interval) line(stage, s, false);
    },
    stageFinished(stage) {
      const s = stages.get(stage);
      if (!s) return;
      if (s.bar) s.bar.update(s.done, { stage, ...rates(s) });
      else line(stage, s, true);
      stages.delete(stage);
    },
    close() {
      if (timer) clearInterval(timer);
      multi?.stop();
    },
  };
}
