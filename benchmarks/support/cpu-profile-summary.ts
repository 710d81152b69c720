/**
 * Where the CPU time of a `node --cpu-prof` run went: reads every .cpuprofile in a folder (the main
 * thread and each worker thread write their own), sums the self time of each sample's function and
 * puts it in one category by the function's file and name (first matching rule wins). Idle and
 * blocked time (the `(idle)` node, Atomics.wait of idle pool workers) is left out of the total.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Category rules, in order: a category and a test on "<url> <function name>". */
const CATEGORIES: Array<[string, RegExp]> = [
  ["idle", /^ *\(idle\)$| atomicsWaitLoop$/],
  ["signatures (shingling and MinHash kernel)", /steps\/minhash\/(signature|one-permutation|shingles)\.ts/],
  ["band keys and bucket pairs", /steps\/minhash\/(lsh|dedup-functions)\.ts/],
  ["verification (shingle sets, exact Jaccard)", /steps\/minhash\/verify-functions\.ts/],
  ["components (union-find and label rounds)", /steps\/minhash\/(components|memory-components)\.ts/],
  ["shuffle (partition, sort, spill, merge)", /src\/shuffle\/|msgpackr/],
  ["compression (zstd)", /zstd/],
  ["parquet writes and reads", /parquet|wasm:\/\//],
  ["engine (dataset plans, tasks, io)", /src\/(dataset|io|executor)\//],
  ["module loading and compilation (task start-up)", /modules\/esm|modules\/cjs|bootstrap|tsx\/dist|esbuild|cjs-module-lexer|compileSourceTextModule/],
  ["garbage collection", /\(garbage collector\)/],
  ["worker messaging", /postMessage|receiveMessageOnPort|worker\/io|event_target|piscina/],
  ["file system", /fs\/promises|openFileHandle| (read|write|writeBuffer|close|fstat|open|stat|lstat|internalModuleStat)$/],
];

export interface ProfileSummary {
  profiles: number;
  /** Seconds of sampled CPU time outside idle, summed over every thread. */
  totalSeconds: number;
  /** Seconds per category, largest first (category "other" for the rest). */
  categories: Record<string, number>;
  /** The heaviest functions by self time: "name (file)" → seconds. */
  topFunctions: Record<string, number>;
}

function categoryOf(url: string, name: string): string {
  const probe = `${url} ${name}`;
  for (const [category, test] of CATEGORIES) if (test.test(probe)) return category;
  return "other";
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

function sorted(map: Map<string, number>, limit: number): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([k, v]) => [k, round(v / 1e6)]));
}

/** Summary of every profile in `folder`. */
export function summarizeProfiles(folder: string, topFunctions = 15): ProfileSummary {
  const files = readdirSync(folder).filter((f) => f.endsWith(".cpuprofile"));
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile: CpuProfile = JSON.parse(readFileSync(path.join(folder, file), "utf8"));
    const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    profile.samples.forEach((id, i) => {
      const frame = frames.get(id);
      const micros = profile.timeDeltas[i] ?? 0;
      if (!frame || micros <= 0) return;
      const url = frame.url.replace(/\?tsx-namespace=.*$/, "").replace(/^.*?\/(src|node_modules)\//, "$1/");
      const category = categoryOf(url, frame.functionName);
      if (category === "idle") return;
      total += micros;
      byCategory.set(category, (byCategory.get(category) ?? 0) + micros);
      const name = `${frame.functionName || "(anonymous)"} (${url || "native"})`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    });
  }
  return { profiles: files.length, totalSeconds: round(total / 1e6), categories: sorted(byCategory, CATEGORIES.length + 1), topFunctions: sorted(byFunction, topFunctions) };
}
