/**
 * The quality step's row functions, module-level so that any executor runs them by reference
 * (`fn(QUALITY_FUNCTIONS, f)`): `nonEmptyText` picks training texts and `labelledAs` those whose
 * label field holds one class's values; `scoreDocuments` (an async factory: it loads the classifier
 * once per task, when there is one) checks each record of a source part against the part
 * convention, computes every heuristic attribute, each rule set's verdict (`<set>_pass`) and the
 * classifier's P(positive) (`quality_score`, only with a classifier), and returns the attribute row
 * `{id, attributes}`. Counters: documents, text characters, the summed score, and per source
 * `dropped.<set>.<rule>:<source>` (documents a rule would drop) and `dropped.<set>:<source>`.
 */
import type { JsonValue, OutputSchema, UserContext } from "../../dataset/index.ts";
import { fileSystemFor } from "../../io/index.ts";
import { sourceRecordChecker } from "../minhash/source-parts.ts";
import { classifierFromBytes } from "./classifier-format.ts";
import { score, type QualityClassifier } from "./classifier.ts";
import { QUALITY_ATTRIBUTE_NAMES, qualityAttributes } from "./heuristics.ts";
import { brokenRules, passColumn, RULE_SET_NAMES, type RuleSetName } from "./rule-sets.ts";

/** This module's URL, for fn(QUALITY_FUNCTIONS, f). */
export const QUALITY_FUNCTIONS = import.meta.url;

/** Attribute files' columns: counts and flags as integers, the rest as doubles, verdicts as booleans, then the score. */
export function qualitySchema(rules: readonly RuleSetName[], withScore: boolean): OutputSchema {
  return {
    id: "string",
    attributes: {
      struct: Object.fromEntries([
        ...QUALITY_ATTRIBUTE_NAMES.map((n) => [n, n.endsWith("_count") || n.startsWith("has_") ? "int64" : "float64"] as const),
        ...rules.map((r) => [passColumn(r), "bool"] as const),
        ...(withScore ? [["quality_score", "float64"] as const] : []),
      ]),
    },
  };
}

/** The schema with every rule set and the classifier's score. */
export const QUALITY_ATTRIBUTE_SCHEMA: OutputSchema = qualitySchema(RULE_SET_NAMES, true);

export interface QualityRow {
  id: string;
  attributes: Record<string, number | boolean>;
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

/** Factory of the filter keeping records with text whose `field` holds one of `values`. */
export function labelledAs(args: { field: string; values: JsonValue[] }): (row: Record<string, unknown>) => boolean {
  const wanted = new Set(args.values.map((v) => JSON.stringify(v)));
  return (row) => nonEmptyText(row) && row[args.field] !== undefined && wanted.has(JSON.stringify(row[args.field]));
}

/** Factory of the map from a text record to `{text}` (training texts read from the user's files). */
export function textFrom(args: { field: string }): (row: Record<string, unknown>) => { text: unknown } {
  return (row) => ({ text: row[args.field] });
}

export type ScoreArgs = {
  /** The classifier file, or null for rules only. */
  modelPath: string | null;
  rules: RuleSetName[];
  /** The source's name, in the per-rule counters. */
  source: string;
};

/** Factory (async: loads the model) of the map from a source record to its attribute row. */
export async function scoreDocuments(args: ScoreArgs): Promise<(row: unknown, ctx: UserContext) => QualityRow> {
  const model = args.modelPath === null ? undefined : await loadModel(args.modelPath);
  const rules = args.rules ?? [];
  const check = sourceRecordChecker();
  return (row, ctx) => {
    const at = ctx.position();
    const { id, text } = check(row, at?.source ?? "", at?.record ?? 0);
    const counters = ctx.counters;
    counters.increment("documents");
    counters.increment("textChars", text.length);
    const heuristics = qualityAttributes(text);
    const attributes: Record<string, number | boolean> = { ...heuristics };
    for (const set of rules) {
      const broken = brokenRules(set, heuristics);
      for (const rule of broken) counters.increment(`dropped.${set}.${rule}:${args.source}`);
      if (broken.length > 0) counters.increment(`dropped.${set}:${args.source}`);
      attributes[passColumn(set)] = broken.length === 0;
    }
    if (model) {
      const p = score(model, text);
      counters.increment("scoreSum", p);
      attributes.quality_score = p;
    }
    return { id, attributes };
  };
}
