/**
 * Serialisation of the quality classifier. JSON form: every field of the model, with the weights
 * stored sparsely as base64 little-endian uint32 indices and float32 values of the non-zero
 * buckets. Binary form: the ASCII magic "KILNQC1\n", a uint32 LE byte length, that many bytes of
 * UTF-8 JSON header (the model without weights), then `buckets` float32 LE weights. Both refuse
 * malformed input with an error saying what is wrong and where.
 */
import { ClassifierFormatError, type QualityClassifier } from "./classifier.ts";

const MAGIC = "KILNQC1\n";

interface SparseWeightsJson {
  readonly encoding: "sparse-f32-base64";
  readonly indices: string;
  readonly values: string;
}

export type QualityClassifierJson = Omit<QualityClassifier, "weights"> & { readonly weights: SparseWeightsJson };

function headerOf(model: QualityClassifier): Omit<QualityClassifier, "weights"> {
  const { weights: _weights, ...header } = model;
  return header;
}

function checkHeader(header: unknown, source: string): asserts header is Omit<QualityClassifier, "weights"> {
  const h = header as Partial<QualityClassifier> | null;
  if (!h || h.format !== "kiln.hashed-logistic" || h.version !== 1) {
    throw new ClassifierFormatError(
      `${source}: not a kiln classifier (format ${JSON.stringify(h?.format)}, version ${JSON.stringify(h?.version)})`,
      "load a file written by classifierToJSON / classifierToBytes",
    );
  }
  if (!Number.isInteger(h.buckets) || h.buckets! < 2 || typeof h.bias !== "number" || typeof h.featureSeed !== "number") {
    throw new ClassifierFormatError(`${source}: header fields buckets/bias/featureSeed are invalid`, "re-export the model");
  }
}

export function classifierToJSON(model: QualityClassifier): QualityClassifierJson {
  const indices: number[] = [];
  for (let i = 0; i < model.weights.length; i++) if (model.weights[i] !== 0) indices.push(i);
  const indexArray = Uint32Array.from(indices);
  const valueArray = Float32Array.from(indices, (i) => model.weights[i]);
  return {
    ...headerOf(model),
    weights: {
      encoding: "sparse-f32-base64",
      indices: Buffer.from(indexArray.buffer).toString("base64"),
      values: Buffer.from(valueArray.buffer).toString("base64"),
    },
  };
}

export function classifierFromJSON(json: unknown, source = "classifier JSON"): QualityClassifier {
  checkHeader(json, source);
  const sparse = (json as QualityClassifierJson).weights;
  if (!sparse || sparse.encoding !== "sparse-f32-base64") {
    throw new ClassifierFormatError(`${source}: field "weights" is missing or not sparse-f32-base64`, "re-export the model");
  }
  const indexBytes = Buffer.from(sparse.indices, "base64");
  const valueBytes = Buffer.from(sparse.values, "base64");
  if (indexBytes.length !== valueBytes.length || indexBytes.length % 4 !== 0) {
    throw new ClassifierFormatError(
      `${source}: weights have ${indexBytes.length} index bytes and ${valueBytes.length} value bytes`,
      "the file is truncated or edited; re-export the model",
    );
  }
  const weights = new Float32Array(json.buckets);
  for (let k = 0; k < indexBytes.length / 4; k++) {
    const index = indexBytes.readUInt32LE(k * 4);
    if (index >= json.buckets) {
      throw new ClassifierFormatError(`${source}: weight index ${index} ≥ buckets ${json.buckets}`, "re-export the model");
    }
    weights[index] = valueBytes.readFloatLE(k * 4);
  }
  return { ...json, weights };
}

export function classifierToBytes(model: QualityClassifier): Uint8Array {
  const header = Buffer.from(JSON.stringify(headerOf(model)), "utf8");
  const out = Buffer.alloc(MAGIC.length + 4 + header.length + model.weights.length * 4);
  out.write(MAGIC, 0, "ascii");
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  const weightsAt = MAGIC.length + 4 + header.length;
  for (let i = 0; i < model.weights.length; i++) out.writeFloatLE(model.weights[i], weightsAt + i * 4);
  return out;
}

export function classifierFromBytes(bytes: Uint8Array, source = "classifier bytes"): QualityClassifier {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < MAGIC.length + 4 || buffer.toString("ascii", 0, MAGIC.length) !== MAGIC) {
    throw new ClassifierFormatError(`${source}: missing the "KILNQC1" magic at offset 0`, "load a file written by classifierToBytes");
  }
  const headerLength = buffer.readUInt32LE(MAGIC.length);
  const weightsAt = MAGIC.length + 4 + headerLength;
  if (weightsAt > buffer.length) {
    throw new ClassifierFormatError(`${source}: header of ${headerLength} bytes runs past the end (${buffer.length} bytes)`, "the file is truncated; re-export it");
  }
  let header: unknown;
  try {
    header = JSON.parse(buffer.toString("utf8", MAGIC.length + 4, weightsAt));
  } catch (cause) {
    throw new ClassifierFormatError(`${source}: header at offset ${MAGIC.length + 4} is not JSON (${String(cause)})`, "the file is corrupt; re-export it");
  }
  checkHeader(header, source);
  const expected = weightsAt + header.buckets * 4;
  if (buffer.length !== expected) {
    throw new ClassifierFormatError(
      `${source}: ${buffer.length} bytes, expected ${expected} for ${header.buckets} float32 weights after offset ${weightsAt}`,
      "the file is truncated or has trailing data; re-export it",
    );
  }
  const weights = new Float32Array(header.buckets);
  for (let i = 0; i < header.buckets; i++) weights[i] = buffer.readFloatLE(weightsAt + i * 4);
  return { ...header, weights };
}
