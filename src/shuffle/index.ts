/**
 * Public API of the shuffle library. A map task opens a `ScatterWriter`, adds its records and
 * commits (one data file of zstd frames plus one sidecar, the sidecar being the commit point); a
 * reduce task lists the committed sidecars and reads its partition with `ShuffleReader` /
 * `readPartition` as a sorted stream, or grouped with `groups()`. Keys follow `compareKeys` and are
 * routed by `partitionOf`.
 */
export { ScatterWriter, DEFAULT_MEMORY_BUDGET, type ScatterWriterOptions, type ScatterStats } from "./writer.ts";
export { ShuffleReader, readPartition, type ReadPartitionOptions, type ReadStats, type ShuffleGroup } from "./reader.ts";
export { listMapOutputs, readSidecar, removeUncommittedData, type MapOutput, type SidecarBody } from "./sidecar.ts";
export { partitionOf, compareKeys, canonicalKeyBytes, assertShuffleKey, type ShuffleKey } from "./key.ts";
export type { ShuffleEntry } from "./frame.ts";
export { FRAME_LEVEL_VARIABLE } from "./frame.ts";
export { keepFirst } from "./merge.ts";
export { ShuffleKeyError, ShuffleCorruptError, ShuffleConfigError } from "./errors.ts";
