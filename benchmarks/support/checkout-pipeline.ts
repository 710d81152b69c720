/**
 * One kiln checkout under benchmark: checks it is a source tree that can run (bin/kiln.mjs,
 * src/index.ts, node_modules), records its commit, finds where it exports each data-step factory
 * (its src/index.ts when that exports it, else the step's own module), and writes, inside it, the
 * pipeline module the benchmark runs: download of a corpus's files → normalize per source →
 * MinHash dedup and quality over the normalized sources → tokenize (gpt2) per source. The module
 * passes only options every version accepts: name, input(s), sources, positive/negative,
 * tokenizer, threads.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { KilnError } from "../../src/errors.ts";
import type { CorpusInput } from "./steps-inputs.ts";

export class BenchSetupError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_BENCH_SETUP", message, hint);
  }
}

/** Each factory the pipeline uses, with the module that defines it when src/index.ts does not export it. */
export const STEP_FACTORIES = {
  downloadStep: "src/steps/download/index.ts",
  normalizeStep: "src/steps/normalize/index.ts",
  minhashDedupStep: "src/steps/minhash/index.ts",
  qualityStep: "src/steps/quality/index.ts",
  tokenizeStep: "src/steps/tokenize/tokenize-step.ts",
} as const;

export type FactoryName = keyof typeof STEP_FACTORIES;
export type Role = "before" | "after";

export interface Checkout {
  role: Role;
  dir: string;
  commit: string;
  /** Uncommitted changes to tracked files (`git status --porcelain --untracked-files=no`). */
  dirty: boolean;
  /** Module, relative to the checkout, each factory is imported from. */
  factories: Record<FactoryName, string>;
}

function git(dir: string, args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/** Names src/index.ts exports, read by importing it in the checkout (so `export *` counts too). */
function indexExports(dir: string): string[] {
  const index = pathToFileURL(path.join(dir, "src/index.ts")).href;
  const script = `const m = await import(${JSON.stringify(index)}); process.stdout.write(JSON.stringify(Object.keys(m)));`;
  const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: dir, encoding: "utf8" });
  if (out.status !== 0) {
    throw new BenchSetupError(`${dir}/src/index.ts does not import: ${out.stderr.trim().split("\n").slice(-3).join(" / ")}`, "run `npx tsc --noEmit -p .` in that checkout and fix what it reports");
  }
  return JSON.parse(out.stdout);
}

/** Checks `dir` and describes it; throws BenchSetupError naming what is missing. */
export function openCheckout(role: Role, dir: string): Checkout {
  const abs = path.resolve(dir);
  for (const need of ["bin/kiln.mjs", "src/index.ts", "node_modules/tsx"]) {
    if (!existsSync(path.join(abs, need))) {
      throw new BenchSetupError(`--${role} ${abs} has no ${need}`, need.startsWith("node_modules") ? "symlink node_modules from a checkout that has them, or run npm ci there" : "pass the root of a kiln source tree");
    }
  }
  const exported = new Set(indexExports(abs));
  const locate = (name: FactoryName): string => {
    if (exported.has(name)) return "src/index.ts";
    if (existsSync(path.join(abs, STEP_FACTORIES[name]))) return STEP_FACTORIES[name];
    throw new BenchSetupError(`--${role} ${abs}: ${name} is neither exported by src/index.ts nor found in ${STEP_FACTORIES[name]}`, "export it from src/index.ts");
  };
  const factories: Record<FactoryName, string> = {
    downloadStep: locate("downloadStep"),
    normalizeStep: locate("normalizeStep"),
    minhashDedupStep: locate("minhashDedupStep"),
    qualityStep: locate("qualityStep"),
    tokenizeStep: locate("tokenizeStep"),
  };
  const dirty = git(abs, ["status", "--porcelain", "--untracked-files=no"]);
  return { role, dir: abs, commit: git(abs, ["rev-parse", "HEAD"]), dirty: dirty !== "" && dirty !== "unknown", factories };
}

function importLines(checkout: Checkout, from: string): string[] {
  const byModule = new Map<string, string[]>([["src/index.ts", ["pipeline"]]]);
  for (const [name, module] of Object.entries(checkout.factories)) byModule.set(module, [...(byModule.get(module) ?? []), name]);
  return [...byModule].map(([module, names]) => {
    const specifier = path.relative(from, path.join(checkout.dir, module)).split(path.sep).join("/");
    return `import { ${names.join(", ")} } from ${JSON.stringify(specifier.startsWith(".") ? specifier : `./${specifier}`)};`;
  });
}

/** Step-name patterns (whole names) of each measured step in the generated pipeline. */
export const STEP_PATTERNS = {
  normalize: "normalized/.*",
  minhash: "minhash",
  quality: "quality",
  tokenize: "tokenized/.*",
} as const;

export type StepKind = keyof typeof STEP_PATTERNS;
export const STEP_KINDS: StepKind[] = ["normalize", "minhash", "quality", "tokenize"];

export function isStepKind(name: string): name is StepKind {
  return name in STEP_PATTERNS;
}

/**
 * Writes `<checkout>/scratch/steps-before-after/<role>-<corpus>.pipeline.ts` (git-ignored, and
 * outside the type check's folders) and returns its path.
 */
export function writePipeline(checkout: Checkout, corpus: CorpusInput, threads: number): string {
  const folder = path.join(checkout.dir, "scratch/steps-before-after");
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${checkout.role}-${corpus.name}.pipeline.ts`);
  const sources = corpus.sources.map(
    (s) => `  { name: ${JSON.stringify(s.name)}, kind: "file" as const, path: ${JSON.stringify(s.folder)}, description: "benchmark input", approxBytes: ${s.bytes} },`,
  );
  const text = [
    `// Written by benchmarks/steps-before-after.bench.ts for the ${checkout.role} checkout (${checkout.commit}); rewritten on every run.`,
    ...importLines(checkout, folder),
    "",
    `const threads = ${threads};`,
    "const sources = [",
    ...sources,
    "];",
    `const download = downloadStep({ name: "download", sources });`,
    "const normalized = Object.fromEntries(",
    "  sources.map((s) => [s.name, normalizeStep({ name: `normalized/${s.name}`, input: download, sources: [s.name], threads })]),",
    ");",
    `const minhash = minhashDedupStep({ name: "minhash", sources: normalized, threads });`,
    `const quality = qualityStep({ name: "quality", sources: normalized, positive: ${JSON.stringify(corpus.positive)}, negative: ${JSON.stringify(corpus.negative)}, threads });`,
    "const tokenized = sources.map((s) =>",
    '  tokenizeStep({ name: `tokenized/${s.name}`, input: normalized[s.name].output("outputs/main"), tokenizer: "gpt2", threads }),',
    ");",
    `export default pipeline({ name: "steps-before-after-${corpus.name}", steps: [minhash, quality, ...tokenized] });`,
    "",
  ].join("\n");
  writeFileSync(file, text);
  return file;
}
