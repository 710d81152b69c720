/**
 * The step results the run report and lineage recognise, described by their shape rather than by
 * step name, so a pipeline that names its steps differently still gets every section. Each shape is
 * a type guard that checks only the fields the report reads; other fields pass through untouched.
 * (Plain guards rather than a schema library: the report is written at the end of every run, and a
 * schema library's import cost more memory than the rest of the report.)
 *
 * The mixture-swarm shape is defined here (no step produces it yet): a step whose result has
 * `kind: "kiln.mixture-swarm"` is reported as a set of proxy runs (predicted against measured value
 * of the objective) and the proposed mixture weights with their intervals.
 */

type Guard<T> = (value: unknown) => value is T;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === "number";
const isString = (v: unknown): v is string => typeof v === "string";
const optional = <T>(guard: Guard<T>) => (v: unknown): v is T | undefined => v === undefined || guard(v);
const arrayOf = <T>(guard: Guard<T>) => (v: unknown): v is T[] => Array.isArray(v) && v.every(guard);
const recordOf = <T>(guard: Guard<T>) => (v: unknown): v is Record<string, T> => isObject(v) && Object.values(v).every(guard);
const pair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every(isNumber);

/** An object whose listed fields pass their guards (the type says what the report reads). */
function shape<T>(fields: { [K in keyof T]-?: Guard<T[K]> }): Guard<T> {
  const entries: Array<[string, Guard<unknown>]> = Object.entries(fields);
  return (v: unknown): v is T => isObject(v) && entries.every(([k, guard]) => guard(v[k]));
}

interface DocBytes {
  documents: number;
  bytes: number;
}
const docBytes = shape<DocBytes>({ documents: isNumber, bytes: isNumber });

export type DownloadFiles = Array<{ path: string; bytes: number; sha256: string; source: string }>;

/** A download step: every file with its size and sha256, relative to the step's output. */
export const downloadResultSchema = shape<{ files: DownloadFiles }>({
  files: arrayOf(shape<DownloadFiles[number]>({ path: isString, bytes: isNumber, sha256: isString, source: isString })),
});

/** A normalize step: documents and text bytes per source at each of its stages. */
export const normalizeResultSchema = shape<{ bySource: Record<string, { read: DocBytes; normalized: DocBytes; kept: DocBytes; duplicates: DocBytes }> }>({
  bySource: recordOf(shape({ read: docBytes, normalized: docBytes, kept: docBytes, duplicates: docBytes })),
});

/** A consolidate step: documents in and kept per source, and what each filter removed. */
export const consolidateResultSchema = shape<{
  bySource: Record<string, { input: DocBytes; kept: DocBytes }>;
  removed: Record<string, number>;
  emptyText: number | undefined;
  inputDocuments: number | undefined;
  documents: number | undefined;
}>({
  bySource: recordOf(shape({ input: docBytes, kept: docBytes })),
  removed: recordOf(isNumber),
  emptyText: optional(isNumber),
  inputDocuments: optional(isNumber),
  documents: optional(isNumber),
});

/** A train step's final numbers. */
export const trainResultSchema = shape<{ steps: number; finalLoss: number; tokens: number; tokensPerS: number; elapsedS: number | undefined; torch: string | undefined }>({
  steps: isNumber,
  finalLoss: isNumber,
  tokens: isNumber,
  tokensPerS: isNumber,
  elapsedS: optional(isNumber),
  torch: optional(isString),
});

/** An eval step: bits per byte per source and their macro average. */
export const evalResultSchema = shape<{ macroBpb: number; sources: Record<string, { bpb: number; tokens: number | undefined; bytes: number | undefined }> }>({
  macroBpb: isNumber,
  sources: recordOf(shape({ bpb: isNumber, tokens: optional(isNumber), bytes: optional(isNumber) })),
});

/** One `step` line of a trainer's metrics.jsonl (kernels/README.md). Non-finite losses are strings there. */
export const metricsStepSchema = shape<{ event: "step"; step: number; loss: number | string; lr: number | undefined; tokens_per_s: number | undefined }>({
  event: (v): v is "step" => v === "step",
  step: isNumber,
  loss: (v): v is number | string => isNumber(v) || isString(v),
  lr: optional(isNumber),
  tokens_per_s: optional(isNumber),
});

export const MIXTURE_SWARM_KIND = "kiln.mixture-swarm";

/**
 * A mixture-swarm step's result. `objective` names the value predicted and measured (e.g.
 * "macro bits per byte", lower is better). Each proxy is one small training run at `weights`;
 * `predicted` is the fitted model's value for it and `measured` the value the run reached (null
 * while it has not run or failed). `proposed` is the mixture the fit recommends, with an interval
 * per source and optionally the predicted objective with its interval.
 */
export interface MixtureSwarmResult {
  kind: typeof MIXTURE_SWARM_KIND;
  objective: string;
  sources: string[];
  proxies: Array<{ name: string; weights: Record<string, number>; predicted: number; measured: number | null }>;
  proposed: {
    weights: Record<string, number>;
    intervals: Record<string, [number, number]> | undefined;
    predicted: number | undefined;
    predictedInterval: [number, number] | undefined;
  };
}

export const mixtureSwarmResultSchema = shape<MixtureSwarmResult>({
  kind: (v): v is typeof MIXTURE_SWARM_KIND => v === MIXTURE_SWARM_KIND,
  objective: isString,
  sources: arrayOf(isString),
  proxies: arrayOf(
    shape<MixtureSwarmResult["proxies"][number]>({
      name: isString,
      weights: recordOf(isNumber),
      predicted: isNumber,
      measured: (v): v is number | null => v === null || isNumber(v),
    }),
  ),
  proposed: shape<MixtureSwarmResult["proposed"]>({
    weights: recordOf(isNumber),
    intervals: optional(recordOf(pair)),
    predicted: optional(isNumber),
    predictedInterval: optional(pair),
  }),
});

/** The result when it has the shape `guard` checks, or undefined. */
export function resultAs<T>(guard: Guard<T>, result: unknown): T | undefined {
  return guard(result) ? result : undefined;
}
