/**
 * The shard task of the quality step, a module-level function of plain-JSON arguments so a worker
 * thread can run it: read one normalized source part (checking the part convention), compute every
 * heuristic attribute and the classifier's P(positive) of each document, and write the part's
 * attribute file `{id, attributes: {...heuristics, quality_score}}` in the part's (id) order.
 */
import { fileSystemFor } from "../../io/index.ts";
import { openWriter, readSplit } from "../../io/formats.ts";
import { checkSourceRecord, type SourcePart } from "../minhash/source-parts.ts";
import { classifierFromBytes } from "./classifier-format.ts";
import { score, type QualityClassifier } from "./classifier.ts";
import { qualityAttributes } from "./heuristics.ts";

export interface QualityTaskArgs {
  part: SourcePart;
  modelPath: string;
  outputFile: string;
}

export interface QualityTaskResult {
  documents: number;
  textChars: number;
  /** Sum of quality_score, for the mean in the step result. */
  scoreSum: number;
}

const models = new Map<string, QualityClassifier>();

async function loadModel(path: string): Promise<QualityClassifier> {
  let model = models.get(path);
  if (!model) {
    model = classifierFromBytes(await fileSystemFor(path).read(path), path);
    models.set(path, model);
  }
  return model;
}

export async function qualityTask(args: QualityTaskArgs): Promise<QualityTaskResult> {
  const { part } = args;
  const model = await loadModel(args.modelPath);
  const writer = openWriter(args.outputFile, "parquet", { rowGroupRows: 16384 });
  const result: QualityTaskResult = { documents: 0, textChars: 0, scoreSum: 0 };
  try {
    let previous: string | undefined;
    const split = { path: part.path, format: "parquet" as const, size: part.size, start: 0, end: part.size };
    for await (const batch of readSplit(split, { columns: ["id", "text"], batchRows: 1024 })) {
      const rows = batch.rows.map((row, i) => {
        const { id, text } = checkSourceRecord(row, part, batch.firstLine + i, previous);
        previous = id;
        const p = score(model, text);
        result.documents++;
        result.textChars += text.length;
        result.scoreSum += p;
        return { id, attributes: { ...qualityAttributes(text), quality_score: p } };
      });
      await writer.write(rows);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return result;
}
