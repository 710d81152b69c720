/**
 * Defining steps. A step has a name, a typed config (parts marked `versioned(...)` enter its
 * version), inputs that reference other steps' outputs (optionally a sub-path), and `run(ctx)`.
 * The config type flows into `run`; the value `run` returns is the step's typed result, stored in
 * its info.json and handed to every consumer through `ctx.inputs.<name>.result`.
 */
import { KilnError } from "../errors.ts";
import type { FileSystem } from "../io/filesystem.ts";
import type { Unversioned } from "./versioned.ts";

export class StepDefinitionError extends KilnError {
  constructor(message: string, hint: string) {
    super("KILN_STEP_DEFINITION", message, hint);
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.\-]*(\/[A-Za-z0-9][A-Za-z0-9_.\-]*)*$/;

/** A reference to another step's output folder, or to a path inside it. */
export interface StepRef<R = unknown> {
  readonly kind: "kiln.step-ref";
  readonly step: AnyStep;
  readonly subPath: string | undefined;
  /** Phantom field carrying the referenced step's result type. */
  readonly __result?: R;
}

/** What a step's `run` sees for one of its inputs. */
export interface Input<R> {
  /** Absolute path (or URL) of the referenced output, including the sub-path if one was given. */
  readonly path: string;
  /** The referenced step's output folder. */
  readonly stepPath: string;
  /** The result the referenced step returned. */
  readonly result: R;
}

export type InputSpec = StepRef<any> | Step<any, any, any>;
export type InputsSpec = Record<string, InputSpec>;

/** The result type an input spec carries (distributes over unions of specs). */
export type ResultOf<S> = S extends Step<any, infer R, any> ? R : S extends StepRef<infer R> ? R : never;

export type ResolvedInputs<I> = {
  [K in keyof I]: Input<ResultOf<I[K]>>;
};

export interface Counters {
  increment(name: string, by?: number): void;
  snapshot(): Record<string, number>;
}

export interface StepContext<C = unknown, I = {}> {
  readonly name: string;
  readonly version: string;
  /**
   * Where the step writes during its run; committed into the output folder when the step
   * succeeds. It is not the final output path: store relative paths in results.
   */
  readonly outputPath: string;
  /**
   * A scratch folder on local disk (even when the output lives in an object store), unique to this
   * attempt, removed when the attempt ends. For exchange, shuffle and spill files.
   */
  readonly workDir: string;
  readonly config: Unversioned<C>;
  readonly inputs: ResolvedInputs<I>;
  /** The file system of `outputPath` (and of the output folder). */
  readonly fs: FileSystem;
  readonly counters: Counters;
  /** Aborted when the step's lease is lost or the run is being stopped. */
  readonly signal: AbortSignal;
  log(message: string): void;
  /** `outputPath` joined with a relative path. */
  path(relative: string): string;
  /** Writes a file below `outputPath` atomically (temporary name, then rename). */
  writeFile(relative: string, data: Buffer | string): Promise<void>;
}

export interface StepSpec<C, I extends InputsSpec, R> {
  name: string;
  description?: string;
  config?: C;
  inputs?: I;
  /**
   * Write into one stable staging folder that a killed or failed attempt leaves behind, so the next
   * attempt finds what it wrote (checkpoints, say) under `ctx.outputPath` and resumes from it,
   * instead of a fresh folder per attempt. Default false.
   */
  resumable?: boolean;
  run: (ctx: StepContext<C, I>) => Promise<R> | R;
}

export class Step<C = unknown, R = unknown, I extends InputsSpec = InputsSpec> {
  readonly kind = "kiln.step" as const;
  readonly name: string;
  readonly description: string | undefined;
  readonly config: C;
  readonly inputs: I;
  readonly resumable: boolean;
  readonly run: (ctx: StepContext<C, I>) => Promise<R> | R;

  constructor(spec: StepSpec<C, I, R>) {
    if (typeof spec.name !== "string" || !NAME_RE.test(spec.name) || spec.name.split("/").includes("..")) {
      throw new StepDefinitionError(
        `invalid step name ${JSON.stringify(spec.name)}`,
        "use letters, digits, '_', '.', '-' and '/' between parts, e.g. 'tokenized/brown'",
      );
    }
    if (typeof spec.run !== "function") {
      throw new StepDefinitionError(`step '${spec.name}' has no run(ctx) function`, "add run: async (ctx) => { ... }");
    }
    this.name = spec.name;
    this.description = spec.description;
    this.config = (spec.config ?? {}) as C;
    this.inputs = (spec.inputs ?? {}) as I;
    this.resumable = spec.resumable ?? false;
    this.run = spec.run;
  }

  /** A reference to this step's output folder, or to `subPath` inside it, for another step's inputs. */
  output(subPath?: string): StepRef<R> {
    if (subPath !== undefined && (subPath.startsWith("/") || subPath.split("/").includes(".."))) {
      throw new StepDefinitionError(
        `sub-path ${JSON.stringify(subPath)} of step '${this.name}' leaves its output folder`,
        "give a relative path inside the step's output, such as 'outputs/main'",
      );
    }
    return { kind: "kiln.step-ref", step: this, subPath: subPath || undefined };
  }
}

export type AnyStep = Step<any, any, any>;

/** Result type of a step, for annotations: `type R = StepResult<typeof myStep>`. */
export type StepResult<S> = S extends Step<any, infer R, any> ? R : never;

export function step<const C = {}, R = void, const I extends InputsSpec = {}>(spec: StepSpec<C, I, R>): Step<C, R, I> {
  return new Step(spec);
}

export function isStep(v: unknown): v is AnyStep {
  return v instanceof Step;
}

export function toRef(spec: InputSpec): StepRef<unknown> {
  return isStep(spec) ? spec.output() : spec;
}
