/**
 * Where the quality classifier's training labels come from, and collecting the examples:
 *   sources  documents of the step's sources named positive and negative;
 *   field    documents of the step's sources whose `field` holds a positive or a negative value
 *            (default values: true / 1 and false / 0; give lists for string labels); records
 *            without the field or with another value are not used for training;
 *   files    texts of the user's own files (paths, globs, https:// or gs:// URLs, read in place),
 *            one list per class, text in `textField` (default "text").
 * About `examplesPerClass` examples per class, spread evenly over that class's sources (for labels in
 * a field: over the step's sources), taken in file order (normalized parts are ordered by content hash: an unbiased sample).
 */
import { Dataset, fn, runDataset, type JsonValue } from "../../dataset/index.ts";
import type { NormalizedSource } from "../minhash/source-parts.ts";
import { ClassifierInputError, type TrainingExample } from "./classifier.ts";
import { labelledAs, nonEmptyText, QUALITY_FUNCTIONS as F, textFrom } from "./quality-functions.ts";

export type QualityLabels =
  | { from: "sources"; positive: string[]; negative: string[] }
  | { from: "field"; field: string; positive?: JsonValue[]; negative?: JsonValue[] }
  | { from: "files"; positive: string[]; negative: string[]; textField?: string };

type Ctx = Parameters<typeof runDataset>[0];
type Label = "positive" | "negative";

const DEFAULT_VALUES: Record<Label, JsonValue[]> = { positive: [true, 1], negative: [false, 0] };

/** Checks labels against the step's source names; errors name the step and what is wrong. */
export function checkLabels(labels: QualityLabels, sourceNames: string[], where: string): void {
  const fail = (message: string, hint: string): never => {
    throw new ClassifierInputError(`${where}: ${message}`, hint);
  };
  if (labels.from === "field") {
    if (typeof labels.field !== "string" || labels.field === "") fail("labels.field is empty", "name the field holding each document's label");
    const positive = labels.positive ?? DEFAULT_VALUES.positive;
    const negative = labels.negative ?? DEFAULT_VALUES.negative;
    const both = positive.filter((v) => negative.some((w) => JSON.stringify(w) === JSON.stringify(v)));
    if (both.length) fail(`label value ${JSON.stringify(both[0])} is both positive and negative`, "give each value to one class");
    return;
  }
  if (labels.from !== "sources" && labels.from !== "files") fail(`labels.from is ${JSON.stringify((labels as { from?: unknown }).from)}`, "use 'sources', 'field' or 'files'");
  for (const which of ["positive", "negative"] as const) {
    const list = labels[which];
    if (!Array.isArray(list) || list.length === 0) fail(`no ${which} ${labels.from}`, `name at least one ${labels.from === "sources" ? `of the sources (${sourceNames.join(", ")})` : "file, glob or URL"} as ${which}`);
    if (labels.from === "sources") {
      for (const n of list) if (!sourceNames.includes(n)) fail(`${which} source '${n}' is not one of its sources (${sourceNames.join(", ")})`, "add it to sources or fix the name");
    }
  }
  if (labels.from === "sources") {
    const both = labels.positive.filter((n) => labels.negative.includes(n));
    if (both.length) fail(`source '${both[0]}' is both positive and negative`, "a source can be in one training class only");
  }
}

/** Up to `limit` texts of one dataset with text, in order. */
async function take(ctx: Ctx, ds: Dataset<{ text: unknown }>, limit: number, label: string, threads: number | undefined): Promise<string[]> {
  const { rows } = await runDataset(ctx, ds.filter(fn(F, nonEmptyText)).take(limit), { threads, label, progress: false });
  return rows.flatMap((r) => (typeof r.text === "string" ? [r.text] : []));
}

function partsOf(source: NormalizedSource): string[] {
  return source.parts.map((p) => p.path);
}

/** The texts of one class. */
async function classTexts(ctx: Ctx, labels: QualityLabels, which: Label, sources: Map<string, NormalizedSource>, limit: number, threads: number | undefined): Promise<string[]> {
  const texts: string[] = [];
  if (labels.from === "sources") {
    for (const n of labels[which]) {
      const source = sources.get(n);
      if (source) texts.push(...(await take(ctx, Dataset.read<{ text: unknown }>(partsOf(source)).select("text"), Math.ceil(limit / labels[which].length), `sample.${n}`, threads)));
    }
  } else if (labels.from === "field") {
    const values = labels[which] ?? DEFAULT_VALUES[which];
    const per = Math.ceil(limit / Math.max(1, sources.size));
    for (const [n, source] of sources) {
      const ds = Dataset.read<Record<string, unknown>>(partsOf(source)).filter(fn(F, labelledAs, { field: labels.field, values })).map(fn(F, textFrom, { field: "text" }));
      texts.push(...(await take(ctx, ds, per, `sample.${n}.${which}`, threads)));
    }
  } else {
    const ds = Dataset.read<Record<string, unknown>>(labels[which]).map(fn(F, textFrom, { field: labels.textField ?? "text" }));
    texts.push(...(await take(ctx, ds, limit, `sample.${which}`, threads)));
  }
  return texts;
}

/** The training examples of both classes; fails naming the class that has none. */
export async function trainingExamples(
  ctx: Ctx,
  labels: QualityLabels,
  sources: Map<string, NormalizedSource>,
  examplesPerClass: number,
  threads: number | undefined,
  where: string,
): Promise<TrainingExample[]> {
  const examples: TrainingExample[] = [];
  for (const which of ["positive", "negative"] as const) {
    const texts = await classTexts(ctx, labels, which, sources, examplesPerClass, threads);
    if (texts.length === 0) {
      const from = labels.from === "field" ? `documents whose '${labels.field}' is ${JSON.stringify(labels[which] ?? DEFAULT_VALUES[which])}` : `${which} ${labels.from} (${labels[which].join(", ")})`;
      throw new ClassifierInputError(`${where}: no ${which} training text: the ${from} have no documents with text`, "pick labels with documents for both classes");
    }
    for (const text of texts) examples.push({ text, label: which === "positive" });
  }
  return examples;
}
