/**
 * The step results the run report and lineage recognise, described by their shape rather than by
 * step name, so a pipeline that names its steps differently still gets every section. Each schema
 * checks only the fields the report reads; other fields pass through untouched.
 *
 * The mixture-swarm shape is defined here (no step produces it yet): a step whose result has
 * `kind: "kiln.mixture-swarm"` is reported as a set of proxy runs (predicted against measured value
 * of the objective) and the proposed mixture weights with their intervals.
 */
import { z } from "zod";

const docBytes = z.object({ documents: z.number(), bytes: z.number() });

/** A download step: every file with its size and sha256, relative to the step's output. */
export const downloadResultSchema = z.object({
  files: z.array(z.object({ path: z.string(), bytes: z.number(), sha256: z.string(), source: z.string() })),
});
export type DownloadFiles = z.infer<typeof downloadResultSchema>["files"];

/** A normalize step: documents and text bytes per source at each of its stages. */
export const normalizeResultSchema = z.object({
  bySource: z.record(z.string(), z.object({ read: docBytes, normalized: docBytes, kept: docBytes, duplicates: docBytes })),
});

/** A consolidate step: documents in and kept per source, and what each filter removed. */
export const consolidateResultSchema = z.object({
  bySource: z.record(z.string(), z.object({ input: docBytes, kept: docBytes })),
  removed: z.record(z.string(), z.number()),
  emptyText: z.number().optional(),
  inputDocuments: z.number().optional(),
  documents: z.number().optional(),
});

/** A train step's final numbers. */
export const trainResultSchema = z.object({
  steps: z.number(),
  finalLoss: z.number(),
  tokens: z.number(),
  tokensPerS: z.number(),
  elapsedS: z.number().optional(),
  torch: z.string().optional(),
});

/** An eval step: bits per byte per source and their macro average. */
export const evalResultSchema = z.object({
  macroBpb: z.number(),
  sources: z.record(z.string(), z.object({ bpb: z.number(), tokens: z.number().optional(), bytes: z.number().optional() })),
});

/** One `step` line of a trainer's metrics.jsonl (kernels/README.md). Non-finite losses are strings there. */
export const metricsStepSchema = z.object({
  event: z.literal("step"),
  step: z.number(),
  loss: z.union([z.number(), z.string()]),
  lr: z.number().optional(),
  tokens_per_s: z.number().optional(),
});

export const MIXTURE_SWARM_KIND = "kiln.mixture-swarm";

const weights = z.record(z.string(), z.number());

/**
 * A mixture-swarm step's result. `objective` names the value predicted and measured (e.g.
 * "macro bits per byte", lower is better). Each proxy is one small training run at `weights`;
 * `predicted` is the fitted model's value for it and `measured` the value the run reached (null
 * while it has not run or failed). `proposed` is the mixture the fit recommends, with an interval
 * per source and optionally the predicted objective with its interval.
 */
export const mixtureSwarmResultSchema = z.object({
  kind: z.literal(MIXTURE_SWARM_KIND),
  objective: z.string(),
  sources: z.array(z.string()),
  proxies: z.array(z.object({ name: z.string(), weights, predicted: z.number(), measured: z.number().nullable() })),
  proposed: z.object({
    weights,
    intervals: z.record(z.string(), z.tuple([z.number(), z.number()])).optional(),
    predicted: z.number().optional(),
    predictedInterval: z.tuple([z.number(), z.number()]).optional(),
  }),
});
export type MixtureSwarmResult = z.infer<typeof mixtureSwarmResultSchema>;

/** The result parsed by `schema`, or undefined when it does not have that shape. */
export function resultAs<T>(schema: z.ZodType<T>, result: unknown): T | undefined {
  const parsed = schema.safeParse(result);
  return parsed.success ? parsed.data : undefined;
}
