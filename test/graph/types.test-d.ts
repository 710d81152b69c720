import { describe, expectTypeOf, it } from "vitest";
import { step, versioned, type Input } from "../../src/index.ts";

describe("step types", () => {
  it("flow the config type into run with versioned markers unwrapped", () => {
    step({
      name: "t",
      config: { vocab: versioned(32000), path: "/tmp/x", nested: { lr: versioned(0.1) } },
      run: (ctx) => {
        expectTypeOf(ctx.config.vocab).toEqualTypeOf<32000>();
        expectTypeOf(ctx.config.path).toEqualTypeOf<"/tmp/x">();
        expectTypeOf(ctx.config.nested.lr).toEqualTypeOf<0.1>();
        // @ts-expect-error unknown config field
        ctx.config.missing;
      },
    });
  });

  it("flow a step's result type to its consumers", () => {
    const tokenize = step({ name: "tokenize", run: async () => ({ tokens: 10, shards: ["a"] }) });
    step({
      name: "train",
      inputs: { data: tokenize, sub: tokenize.output("train") },
      run: (ctx) => {
        expectTypeOf(ctx.inputs.data).toEqualTypeOf<Input<{ tokens: number; shards: string[] }>>();
        expectTypeOf(ctx.inputs.sub.result.tokens).toEqualTypeOf<number>();
        expectTypeOf(ctx.inputs.data.path).toEqualTypeOf<string>();
        // @ts-expect-error no such input
        ctx.inputs.other;
        // @ts-expect-error result field that does not exist
        ctx.inputs.data.result.bytes;
      },
    });
  });
});
