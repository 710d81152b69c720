/**
 * The quality step's row functions, module-level so that any executor runs them by reference
 * (`fn(QUALITY_FUNCTIONS, f)`): `nonEmptyText` picks training texts; `scoreDocuments` (an async
 * factory: it loads the classifier once per task) checks each record of a source part against the
 * part convention, computes every heuristic attribute and the classifier's P(positive), and returns
 * the attribute row `{id, attributes: {...heuristics, quality_score}}`, counting documents, text
 * characters and the summed score.
 */
import type { OutputSchema, UserContext } from "../../dataset/index.ts";
import { fileSystemFor } from "../../io/index.ts";
import { sourceRecordChecker } from "../minhash/source-parts.ts";
import { classifierFromBytes } from "./classifier-format.ts";
import { score, type QualityClassifier } from "./classifier.ts";
import { QUALITY_ATTRIBUTE_NAMES, qualityAttributes } from "./heuristics.ts";

/** This module's URL, for fn(QUALITY_FUNCTIONS, f). */
export const QUALITY_FUNCTIONS = import.meta.url;

/** Attribute files' columns: counts and flags as integers, the rest as doubles. */
export const QUALITY_ATTRIBUTE_SCHEMA: OutputSchema = {
  id: "string",
  attributes: {
    struct: Object.fromEntries([
      ...QUALITY_ATTRIBUTE_NAMES.map((n) => [n, n.endsWith("_count") || n.startsWith("has_") ? "int64" : "float64"] as const),
      ["quality_score", "float64"] as const,
    ]),
  },
};

export interface QualityRow {
  id: string;
  attributes: Record<string, number>;
}

const models = new Map<string, Promise<QualityClassifier>>();

function loadModel(path: string): Promise<QualityClassifier> {
  let model = models.get(path);
  if (!model) {
    model = fileSystemFor(path).read(path).then((bytes) => classifierFromBytes(bytes, path));
    models.set(path, model);
    model.catch(() => models.delete(path));
  }
  return model;
}

export function nonEmptyText(row: { text?: unknown }): boolean {
  return typeof row.text === "string" && row.text.trim().length > 0;
}

/** Factory (async: loads the model) of the map from a source record to its attribute row. */
export async function scoreDocuments(args: { modelPath: string }): Promise<(row: unknown, ctx: UserContext) => QualityRow> {
  const model = await loadModel(args.modelPath);
  const check = sourceRecordChecker();
  return (row, ctx) => {
    const at = ctx.position();
    const { id, text } = check(row, at?.source ?? "", at?.record ?? 0);
    const p = score(model, text);
    ctx.counters.increment("documents");
    ctx.counters.increment("textChars", text.length);
    ctx.counters.increment("scoreSum", p);
    return { id, attributes: { ...qualityAttributes(text), quality_score: p } };
  };
}
