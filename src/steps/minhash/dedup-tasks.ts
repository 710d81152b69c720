/**
 * The shard tasks of the MinHash dedup step, each a module-level function of plain-JSON arguments
 * (so a worker thread can run it) over the shuffle library:
 *   signatures   one source part → band entries `{b: band key, n: node key}` scattered by band key;
 *   buckets      one band partition → grouped by band key, sorted by node key, so the first member
 *                is the bucket's minimum: star edges member ↔ minimum (optionally only when the exact
 *                Jaccard of the two shingle sets reaches a threshold), scattered by node;
 *   propagate    one node partition of round k → each node's new state (round 0: from its
 *                adjacency; later: min of own label and received labels), and its round-k+1
 *                messages scattered by recipient; reports how many labels changed;
 *   joinScatter  one node partition of the final round → `{id, attributes}` scattered to each
 *                source by `partitionOf(id, M_source)`;
 *   attributes   one source part → its attribute records merged with the part's ids (every
 *                record must find its document there) and written sorted by id.
 */
import { ScatterWriter, ShuffleReader, listMapOutputs, partitionOf } from "../../shuffle/index.ts";
import { readSplit, openWriter } from "../../io/formats.ts";
import { applyLabelMessages, initialNodeState, labelMessages, type LabelMessage, type NodeState } from "./components.ts";
import { bandKeys, jaccardOfSortedSets } from "./lsh.ts";
import { MinHasher, type MinHashParams } from "./signature.ts";
import { SourceLayoutError, checkSourceRecord, nodeKey, parseNodeKey, type SourcePart } from "./source-parts.ts";

/** A document's membership in one band bucket; `s` carries its shingle set when verifying. */
export interface BandEntry {
  b: string;
  n: string;
  s?: string;
}

/** Adjacency of a node (combined per node in the scatter buffers). */
export interface AdjacencyEntry {
  n: string;
  a: string[];
}

export interface DupAttributes {
  dup_cluster_id: string;
  is_cluster_canonical: boolean;
}

export interface AttributeEntry {
  id: string;
  attributes: DupAttributes;
}

export interface SignatureTaskArgs {
  part: SourcePart;
  sourceIndex: number;
  params: MinHashParams;
  bandPartitions: number;
  bandsDir: string;
  memoryBudgetBytes: number;
  verify: boolean;
}

export interface SignatureTaskResult {
  documents: number;
  emptyDocuments: number;
  textBytes: number;
  bandEntries: number;
}

function encodeShingles(shingles: Uint32Array): string {
  return Buffer.from(shingles.buffer, shingles.byteOffset, shingles.byteLength).toString("base64");
}

function decodeShingles(text: string): Uint32Array {
  const bytes = Buffer.from(text, "base64");
  const out = new Uint32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Stage 1: signatures and band keys of one source part. */
export async function signatureTask(args: SignatureTaskArgs): Promise<SignatureTaskResult> {
  const { part, params } = args;
  const hasher = new MinHasher(params);
  const scratch = new Uint32Array(params.numPerm);
  const writer = await ScatterWriter.open<BandEntry>({
    outputDir: args.bandsDir,
    mapTask: `s${args.sourceIndex}-p${part.index}`,
    numPartitions: args.bandPartitions,
    key: (e) => e.b,
    sortBy: (e) => e.n,
    memoryBudgetBytes: args.memoryBudgetBytes,
    operator: "minhash band key",
  });
  const result: SignatureTaskResult = { documents: 0, emptyDocuments: 0, textBytes: 0, bandEntries: 0 };
  try {
    let previous: string | undefined;
    const split = { path: part.path, format: "parquet" as const, size: part.size, start: 0, end: part.size };
    for await (const batch of readSplit(split, { columns: ["id", "text"], batchRows: 512 })) {
      for (let i = 0; i < batch.rows.length; i++) {
        const { id, text } = checkSourceRecord(batch.rows[i], part, batch.firstLine + i, previous);
        previous = id;
        if (partitionOf(id, part.total) !== part.index) {
          throw new SourceLayoutError(
            `${part.path}, row ${batch.firstLine + i}: id ${id} belongs in part ${partitionOf(id, part.total)} of ${part.total}, not ${part.index}`,
            "documents must be placed by partitionOf(id, M) (src/shuffle); rerun the normalize step",
          );
        }
        result.documents++;
        result.textBytes += text.length;
        const shingles = args.verify ? hasher.shingleHashes(text) : undefined;
        const signature = shingles ? hasher.signatureOfShingles(shingles, scratch) : hasher.signature(text, scratch);
        const keys = bandKeys(signature, params.bands, params.rows);
        if (keys.length === 0) {
          result.emptyDocuments++;
          continue;
        }
        const node = nodeKey(args.sourceIndex, id);
        const s = shingles ? encodeShingles(shingles) : undefined;
        for (const b of keys) {
          const pending = writer.add(s === undefined ? { b, n: node } : { b, n: node, s });
          if (pending) await pending;
        }
        result.bandEntries += keys.length;
      }
    }
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return result;
}

export interface ReduceTaskArgs {
  inputDir: string;
  partition: number;
  outputDir: string;
  numPartitions: number;
  memoryBudgetBytes: number;
}

function mergeSortedUnique(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/**
 * A task that reads one shuffle and writes the next holds a reader and a writer at once: each gets
 * half of the task's shuffle budget, so together they stay within it.
 */
function halfBudget(args: { memoryBudgetBytes: number }): number {
  return Math.max(1024 * 1024, Math.floor(args.memoryBudgetBytes / 2));
}

async function openNodeWriter<T>(args: ReduceTaskArgs, key: (e: T) => string, combine?: (a: T, b: T) => T): Promise<ScatterWriter<T>> {
  return ScatterWriter.open<T>({
    outputDir: args.outputDir,
    mapTask: `p${args.partition}`,
    numPartitions: args.numPartitions,
    key,
    combine,
    memoryBudgetBytes: halfBudget(args),
    operator: "minhash node",
  });
}

async function reader<T>(args: ReduceTaskArgs): Promise<ShuffleReader<T>> {
  return new ShuffleReader<T>({ mapOutputs: await listMapOutputs(args.inputDir), partition: args.partition, memoryBudgetBytes: halfBudget(args) });
}

export interface BucketTaskResult {
  buckets: number;
  candidateEdges: number;
  rejectedEdges: number;
}

/** Stage 2: star edges of every band bucket in one band partition, optionally verified. */
export async function bucketTask(args: ReduceTaskArgs & { verifyThreshold: number | null }): Promise<BucketTaskResult> {
  const result: BucketTaskResult = { buckets: 0, candidateEdges: 0, rejectedEdges: 0 };
  const writer = await openNodeWriter<AdjacencyEntry>(args, (e) => e.n, (x, y) => ({ n: x.n, a: mergeSortedUnique(x.a, y.a) }));
  try {
    // Entries arrive sorted by (band key, node key): the first entry of a key is its bucket's minimum.
    let bucket: string | undefined;
    let min: BandEntry | undefined;
    let minShingles: Uint32Array | undefined;
    for await (const batch of (await reader<BandEntry>(args)).batches()) {
      for (const entry of batch) {
        const member = entry.record;
        if (entry.key !== bucket) {
          bucket = entry.key as string;
          min = member;
          minShingles = args.verifyThreshold !== null ? decodeShingles(member.s ?? "") : undefined;
          result.buckets++;
          continue;
        }
        if (member.n === min!.n) continue;
        if (minShingles && jaccardOfSortedSets(minShingles, decodeShingles(member.s ?? "")) < args.verifyThreshold!) {
          result.rejectedEdges++;
          continue;
        }
        result.candidateEdges++;
        const first = writer.add({ n: member.n, a: [min!.n] });
        if (first) await first;
        const second = writer.add({ n: min!.n, a: [member.n] });
        if (second) await second;
      }
    }
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return result;
}

export interface PropagateTaskResult {
  nodes: number;
  changed: number;
  messages: number;
}

/** One label-propagation round for one node partition (round 0 starts from adjacency). */
export async function propagateTask(args: ReduceTaskArgs & { round: number }): Promise<PropagateTaskResult> {
  const result: PropagateTaskResult = { nodes: 0, changed: 0, messages: 0 };
  const writer = await openNodeWriter<LabelMessage>(args, (m) => m.to);
  try {
    const emit = async (state: NodeState): Promise<void> => {
      result.nodes++;
      if (state.changed) result.changed++;
      for (const message of labelMessages(state)) {
        result.messages++;
        const pending = writer.add(message);
        if (pending) await pending;
      }
    };
    // Entries arrive sorted by node: collect each node's run, then emit its new state.
    let node: string | undefined;
    let run: (AdjacencyEntry | LabelMessage)[] = [];
    const flush = async (): Promise<void> => {
      if (node === undefined) return;
      if (args.round === 0) {
        const neighbours: string[] = [];
        for (const entry of run as AdjacencyEntry[]) for (const a of entry.a) neighbours.push(a);
        await emit(initialNodeState(node, neighbours));
      } else {
        await emit(applyLabelMessages(node, run as LabelMessage[]));
      }
    };
    for await (const batch of (await reader<AdjacencyEntry | LabelMessage>(args)).batches()) {
      for (const entry of batch) {
        if (entry.key !== node) {
          await flush();
          node = entry.key as string;
          run = [];
        }
        run.push(entry.record);
      }
    }
    await flush();
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return result;
}

export interface JoinScatterArgs {
  inputDir: string;
  partition: number;
  /** Per source (by index): the shuffle folder of its attributes and its part count M. */
  sources: { joinDir: string; numParts: number }[];
  memoryBudgetBytes: number;
}

/** Final stage map: each clustered node's attributes, routed to its source's part. */
export async function joinScatterTask(args: JoinScatterArgs): Promise<{ members: number; canonical: number }> {
  const writers = new Map<number, ScatterWriter<AttributeEntry>>();
  const perWriter = Math.max(1024 * 1024, Math.floor(halfBudget(args) / Math.max(1, args.sources.length)));
  let members = 0;
  let canonical = 0;
  try {
    const input = new ShuffleReader<LabelMessage>({ mapOutputs: await listMapOutputs(args.inputDir), partition: args.partition, memoryBudgetBytes: halfBudget(args) });
    for await (const message of input.records()) {
      if (!("state" in message)) continue;
      const { sourceIndex, id } = parseNodeKey(message.state.id);
      const source = args.sources[sourceIndex];
      let writer = writers.get(sourceIndex);
      if (!writer) {
        writer = await ScatterWriter.open<AttributeEntry>({
          outputDir: source.joinDir,
          mapTask: `n${args.partition}`,
          numPartitions: source.numParts,
          key: (e) => e.id,
          memoryBudgetBytes: perWriter,
          operator: "dedup attributes",
        });
        writers.set(sourceIndex, writer);
      }
      const isCanonical = message.state.id === message.state.label;
      members++;
      if (isCanonical) canonical++;
      const pending = writer.add({ id, attributes: { dup_cluster_id: parseNodeKey(message.state.label).id, is_cluster_canonical: isCanonical } });
      if (pending) await pending;
    }
    for (const w of writers.values()) await w.commit();
  } catch (err) {
    for (const w of writers.values()) await w.abort();
    throw err;
  }
  return { members, canonical };
}

export interface AttributeTaskArgs {
  part: SourcePart;
  joinDir: string;
  outputFile: string;
  memoryBudgetBytes: number;
}

/** Final stage reduce: one source part's attribute file, checked against the part's ids. */
export async function attributeTask(args: AttributeTaskArgs): Promise<{ records: number; nonCanonical: number }> {
  const { part } = args;
  // No committed output for this source means none of its documents is in a cluster.
  const mapOutputs = await listMapOutputs(args.joinDir);
  const entries = new ShuffleReader<AttributeEntry>({ mapOutputs, partition: part.index, memoryBudgetBytes: args.memoryBudgetBytes }).records();
  const split = { path: part.path, format: "parquet" as const, size: part.size, start: 0, end: part.size };
  const ids = (async function* () {
    for await (const batch of readSplit(split, { columns: ["id"], batchRows: 4096 })) for (const row of batch.rows) yield (row as { id: string }).id;
  })();
  const writer = openWriter(args.outputFile, "parquet", { rowGroupRows: 16384 });
  let records = 0;
  let nonCanonical = 0;
  try {
    let current = mapOutputs.length > 0 ? await ids.next() : undefined;
    for await (const entry of mapOutputs.length > 0 ? entries : []) {
      while (current && !current.done && current.value < entry.id) current = await ids.next();
      if (!current || current.done || current.value !== entry.id) {
        throw new SourceLayoutError(
          `dedup attribute for id ${entry.id} has no document in ${part.path} (or the id repeats): the source breaks the part convention`,
          "each id must be in exactly one part, partitionOf(id, M), sorted; rerun the normalize step",
        );
      }
      current = await ids.next();
      records++;
      if (!entry.attributes.is_cluster_canonical) nonCanonical++;
      await writer.write([entry]);
    }
    await ids.return(undefined);
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return { records, nonCanonical };
}
