import { describe, expect, it } from "vitest";
import { buildGraph, toMermaid } from "../../src/graph/dag.ts";
import { step, StepDefinitionError } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { KilnError } from "../../src/errors.ts";

const noop = async () => undefined;

function source(cfg: { url: string; threads: number }) {
  return step({ name: "download", config: { url: versioned(cfg.url), threads: cfg.threads }, run: noop });
}

function versionOf(s: Parameters<typeof buildGraph>[0] extends Iterable<infer S> ? S : never): string {
  const g = buildGraph([s]);
  return g.byVersion.get([...g.byVersion.keys()].find((v) => g.byVersion.get(v)!.step === s)!)!.version;
}

describe("step versions", () => {
  it("change with versioned fields, not with other config", () => {
    const a = versionOf(source({ url: "https://x/a", threads: 1 }));
    expect(versionOf(source({ url: "https://x/a", threads: 16 }))).toBe(a);
    expect(versionOf(source({ url: "https://x/b", threads: 1 }))).not.toBe(a);
  });

  it("change when a dependency's version changes, and with the input's sub-path", () => {
    const make = (url: string, sub?: string) => {
      const dl = source({ url, threads: 1 });
      return step({ name: "normalize", config: { level: versioned(2) }, inputs: { raw: dl.output(sub) }, run: noop });
    };
    const base = versionOf(make("https://x/a"));
    expect(versionOf(make("https://x/a"))).toBe(base);
    expect(versionOf(make("https://x/b"))).not.toBe(base);
    expect(versionOf(make("https://x/a", "outputs/main"))).not.toBe(base);
  });

  it("depend on the name and on where versioned values sit in the config", () => {
    const a = step({ name: "s", config: { a: versioned(1), b: 2 }, run: noop });
    const b = step({ name: "s", config: { a: 2, b: versioned(1) }, run: noop });
    const c = step({ name: "t", config: { a: versioned(1), b: 2 }, run: noop });
    expect(new Set([versionOf(a), versionOf(b), versionOf(c)]).size).toBe(3);
  });

  it("give the output folder <name>-<hash8>, independent of any prefix", () => {
    const g = buildGraph([source({ url: "u", threads: 1 })]);
    const node = g.nodes[0];
    expect(node.relPath).toBe(`download-${node.version.slice(0, 8)}`);
    expect(node.version).toMatch(/^[0-9a-f]{64}$/);
  });

  it("unwrap versioned markers in the config run sees", () => {
    const s = step({ name: "s", config: { model: { dim: versioned(64), layers: [versioned(2), 3] } }, run: noop });
    const node = buildGraph([s]).nodes[0];
    expect(node.config).toEqual({ model: { dim: 64, layers: [2, 3] } });
    expect(node.versionedConfig).toEqual({ "model.dim": 64, "model.layers[0]": 2 });
  });

  it("merge steps with identical versions into one node", () => {
    const a = source({ url: "same", threads: 1 });
    const b = source({ url: "same", threads: 8 });
    const x = step({ name: "x", inputs: { a }, run: noop });
    const y = step({ name: "y", inputs: { b }, run: noop });
    const g = buildGraph([x, y]);
    expect(g.nodes.map((n) => n.name)).toEqual(["download", "x", "y"]);
    expect(g.nodes[1].deps[0].node).toBe(g.nodes[2].deps[0].node);
  });

  it("reject configs that cannot be hashed, naming the step and dotted path", () => {
    const s = step({ name: "bad", config: { opt: versioned({ schedule: { fn: () => 1 } }) }, run: noop });
    expect(() => buildGraph([s])).toThrow(/step 'bad': cannot hash a function .* at 'config\.opt\.schedule\.fn'/);
  });

  it("name the cycle when inputs form one", () => {
    const a = step({ name: "a", inputs: {} as Record<string, any>, run: noop });
    const b = step({ name: "b", inputs: { a }, run: noop });
    const c = step({ name: "c", inputs: { b }, run: noop });
    (a.inputs as Record<string, unknown>).c = c;
    let err: unknown;
    try {
      buildGraph([c]);
    } catch (e) {
      err = e;
    }
    expect((err as KilnError).code).toBe("KILN_CYCLE");
    expect((err as Error).message).toContain("c -> b -> a -> c");
  });

  it("orders nodes topologically and deterministically, and renders Mermaid", () => {
    const root = step({ name: "root", run: noop });
    const l = step({ name: "left", inputs: { root }, run: noop });
    const r = step({ name: "right", inputs: { root: root.output("sub") }, run: noop });
    const top = step({ name: "top", inputs: { l, r }, run: noop });
    const g = buildGraph([top]);
    expect(g.nodes.map((n) => n.name)).toEqual(["root", "left", "right", "top"]);
    const m = toMermaid(g);
    expect(m).toContain("s0 -->|root: sub| s2");
    expect(m).toContain("s1 -->|l| s3");
  });

  it("refuse invalid step names and escaping sub-paths", () => {
    expect(() => step({ name: "../x", run: noop })).toThrow(StepDefinitionError);
    expect(() => step({ name: "a b", run: noop })).toThrow(StepDefinitionError);
    const s = step({ name: "ok/name-1.2", run: noop });
    expect(() => s.output("../other")).toThrow(/leaves its output folder/);
  });
});
