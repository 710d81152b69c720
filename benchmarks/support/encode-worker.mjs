// A worker thread of the tokenize benchmark's bare-encoder scaling reference: it is given its share
// of the documents' texts, says "ready", and on "go" loads cl100k_base (the compiled vocabulary file,
// as a step's worker does) and encodes every text once with kiln's encoder, then posts its token
// count and its load + encode seconds. Plain JavaScript that registers tsx itself, since a worker
// thread does not inherit the `--import tsx` hooks for its own entry file.
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { loadOpenAiTokenizer } = await import("../../src/tokenizers/index.ts");
const texts = workerData.texts;
parentPort.once("message", async () => {
  const t0 = performance.now();
  const tokenizer = await loadOpenAiTokenizer("cl100k_base");
  let tokens = 0;
  for (const text of texts) tokens += tokenizer.encode(text).length;
  parentPort.postMessage({ tokens, seconds: (performance.now() - t0) / 1000 });
});
parentPort.postMessage("ready");
