import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildGraph, type Graph } from "../../src/graph/dag.ts";
import { step } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { fileSystemFor } from "../../src/io/index.ts";
import { runGraph } from "../../src/executor/scheduler.ts";
import { writeStatus } from "../../src/executor/markers.ts";
import { gatherRunData, readLossCurve, MAX_LOSS_POINTS, type RunReportData } from "../../src/report/gather.ts";
import { renderRunReport, reportPath, writeRunReport } from "../../src/report/index.ts";
import { dataSection } from "../../src/report/sections/data.ts";
import { mixtureSection } from "../../src/report/sections/mixture.ts";
import { trainingSection } from "../../src/report/sections/model.ts";
import { layoutDag } from "../../src/report/sections/steps.ts";
import { timelineSection } from "../../src/report/sections/timeline.ts";
import { tempDir } from "../support/kiln-cli.ts";

const mixtureFixture = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures/mixture-swarm.json"), "utf8"));
const docs = (documents: number, bytes: number) => ({ documents, bytes });

/** A run with every state: finished data steps, a failed step and its dependent, a live trainer, and steps never run. */
function partialPipeline() {
  const salt = Math.random();
  const normalized = step({
    name: "normalized/x",
    config: { salt: versioned(salt) },
    run: async () => ({ bySource: { x: { read: docs(10, 1000), normalized: docs(9, 900), kept: docs(8, 800), duplicates: docs(1, 100) } } }),
  });
  const consolidated = step({
    name: "consolidated/x",
    inputs: { normalized },
    run: async (ctx) => {
      ctx.counters.increment("documents_in", 8);
      return { bySource: { x: { input: docs(8, 800), kept: docs(6, 600) } }, removed: { "too-short": 2 }, emptyText: 0, inputDocuments: 8, documents: 6 };
    },
  });
  const broken = step({
    name: "quality/broken",
    inputs: { normalized },
    run: async () => {
      throw new Error("classifier <script>alert(1)</script> diverged");
    },
  });
  const afterBroken = step({ name: "after/broken", inputs: { broken }, run: async () => 1 });
  const swarm = step({ name: "mixture/swarm", inputs: { consolidated }, run: async () => mixtureFixture });
  const live = step({ name: "train/live", inputs: { consolidated }, run: async () => 0 });
  const never = step({ name: "later/not-run", inputs: { swarm }, run: async () => 0 });
  return { roots: [afterBroken, never, live], only: [/^(normalized|consolidated|quality|after|mixture)\//] };
}

let prefix = "";
let graph: Graph;
let data: RunReportData;

beforeAll(async () => {
  prefix = path.join(tempDir(), "out");
  const p = partialPipeline();
  graph = buildGraph(p.roots);
  const summary = await runGraph(graph, { prefix, only: p.only, log: () => undefined });
  expect(summary.failed.map((f) => f.node.name)).toEqual(["quality/broken"]);
  // A trainer still running: RUNNING marker and the metrics lines written so far (one cut short).
  const live = path.join(prefix, graph.byName.get("train/live")![0].relPath);
  mkdirSync(live, { recursive: true });
  await writeStatus(fileSystemFor(live), live, "RUNNING");
  const lines = [
    { event: "start", step: 0, total_steps: 100 },
    ...[1, 2, 3, 4, 5].map((s) => ({ event: "step", step: s, loss: 6 - s * 0.5, lr: 0.001, tokens_per_s: 1000 })),
    { event: "step", step: 6, loss: "nan" },
  ].map((e) => JSON.stringify(e));
  writeFileSync(path.join(live, "metrics.jsonl"), lines.join("\n") + '\n{"event":"step","st');
  data = await gatherRunData({ pipeline: "partial", graph, prefix });
});

const json = (v: unknown) => JSON.parse(JSON.stringify(v));

describe("run report data", () => {
  it("reads every step's state from its markers, info.json only for finished attempts", () => {
    expect(Object.fromEntries(data.steps.map((s) => [s.name, s.state]))).toEqual({
      "normalized/x": "SUCCESS",
      "consolidated/x": "SUCCESS",
      "quality/broken": "FAILED",
      "after/broken": "DEP_FAILED",
      "mixture/swarm": "SUCCESS",
      "train/live": "RUNNING",
      "later/not-run": "NOT_RUN",
    });
    const byName = new Map(data.steps.map((s) => [s.name, s]));
    expect(byName.get("quality/broken")!.info!.error!.message).toContain("diverged");
    expect(byName.get("train/live")!.info).toBeNull();
    expect(byName.get("consolidated/x")!.info!.counters).toEqual({ documents_in: 8 });
  });

  it("reads a live trainer's loss so far, leaving out non-finite and cut lines", () => {
    const loss = data.steps.find((s) => s.name === "train/live")!.loss!;
    expect(loss.points).toEqual([[1, 5.5], [2, 5], [3, 4.5], [4, 4], [5, 3.5]]);
    expect(loss.nonFinite).toBe(1);
    expect(loss.total).toBe(6);
    const chart = json(trainingSection(data).charts[0].option);
    expect(chart.series).toEqual([expect.objectContaining({ type: "line", name: "train/live", data: loss.points })]);
    expect(trainingSection(data).html).toContain("1 non-finite losses left out");
  });

  it("thins a long loss curve to the point budget, keeping the last step", async () => {
    const file = path.join(tempDir(), "metrics.jsonl");
    writeFileSync(file, Array.from({ length: 5001 }, (_, i) => JSON.stringify({ event: "step", step: i + 1, loss: 10 / (i + 1) })).join("\n"));
    const loss = (await readLossCurve(file))!;
    expect(loss.total).toBe(5001);
    expect(loss.points.length).toBeLessThanOrEqual(MAX_LOSS_POINTS);
    expect(loss.points.length).toBeGreaterThan(MAX_LOSS_POINTS / 2);
    expect(loss.points[0]).toEqual([1, 10]);
    expect(loss.points.at(-1)).toEqual([5001, 10 / 5001]);
    expect(await readLossCurve(path.join(tempDir(), "absent.jsonl"))).toBeNull();
  });

  it("puts documents per source and stage, and filter removals, into tables and charts", () => {
    const section = dataSection(data);
    const [docsChart, bytesChart, filterChart] = section.charts.map((c) => json(c.option));
    expect(docsChart.xAxis.data).toEqual(["x"]);
    expect(docsChart.series.map((s: { name: string; data: number[] }) => [s.name, s.data])).toEqual([
      ["read", [10]],
      ["normalized", [9]],
      ["after exact dedup", [8]],
      ["after consolidate", [6]],
    ]);
    expect(bytesChart.series[0].data).toEqual([1000]);
    expect(filterChart.series).toEqual([expect.objectContaining({ name: "too-short", data: [2] })]);
    expect(section.html).toMatch(/<td>x<\/td><td class="num">-<\/td>.*<td class="num">10<\/td>/);
  });

  it("draws a mixture-swarm result: measured proxies against predictions, and weights with intervals", () => {
    const section = mixtureSection(data)!;
    const [predicted, weights] = section.charts.map((c) => json(c.option));
    expect(predicted.series[0].data).toEqual([
      { name: "proxy-00", value: [2.31, 2.35] },
      { name: "proxy-01", value: [2.52, 2.47] },
      { name: "proxy-02", value: [2.18, 2.2] },
      { name: "proxy-03", value: [2.26, 2.24] },
    ]);
    expect(weights.xAxis.data).toEqual(["books", "code", "web"]);
    expect(weights.series[0].data).toEqual([0.3, 0.15, 0.55]);
    expect(weights.series[1]).toMatchObject({ type: "candlestick", data: [[0.22, 0.38, 0.22, 0.38], [0.09, 0.21, 0.09, 0.21], [0.46, 0.63, 0.46, 0.63]] });
    expect(section.html).toContain("1 proxies not measured yet");
    expect(section.html).toContain("interval 2.1100 – 2.2200");
    const relabel = (result: unknown) => (result && typeof result === "object" ? { ...result, kind: "other" } : result);
    const withoutKind = { ...data, steps: data.steps.map((s) => (s.info ? { ...s, info: { ...s.info, result: relabel(s.info.result) } } : s)) };
    expect(mixtureSection(withoutKind)).toBeNull();
  });

  it("puts only steps with recorded times on the timeline", () => {
    const chart = json(timelineSection(data).charts[0].option);
    expect([...chart.yAxis.data].sort()).toEqual(["consolidated/x", "mixture/swarm", "normalized/x", "quality/broken"]);
    const note = /No recorded times \(not finished, not run, or an input failed\): ([^<]*)/.exec(timelineSection(data).html)![1];
    expect(note.split(", ").sort()).toEqual(["after/broken", "later/not-run", "train/live"]);
  });

  it("lays the DAG out in columns by dependency depth", () => {
    const placed = layoutDag(data.steps);
    const layer = Object.fromEntries(placed.map((p) => [p.step.name, p.layer]));
    expect(layer).toEqual({ "normalized/x": 0, "consolidated/x": 1, "quality/broken": 1, "after/broken": 2, "mixture/swarm": 2, "train/live": 2, "later/not-run": 3 });
  });

  it("reports an unreadable info.json on its step and still renders the rest", async () => {
    const out = path.join(tempDir(), "out");
    const ok = step({ name: "ok", config: { salt: versioned(Math.random()) }, run: async () => ({ done: true }) });
    const g = buildGraph([ok]);
    expect((await runGraph(g, { prefix: out, log: () => undefined })).ok).toBe(true);
    writeFileSync(path.join(out, g.nodes[0].relPath, ".kiln/info.json"), "{ cut sho");
    const gathered = await gatherRunData({ pipeline: "broken-info", graph: g, prefix: out });
    expect(gathered.steps[0]).toMatchObject({ state: "SUCCESS", info: null, problem: expect.stringMatching(/^unreadable \.kiln\/info\.json: .*JSON/) });
    expect(renderRunReport(gathered)).toContain("unreadable .kiln/info.json");
  });

  it("renders one self-contained page, escaping what steps report", async () => {
    const html = renderRunReport(data);
    expect(html).toContain("classifier &lt;script&gt;alert(1)&lt;/script&gt; diverged");
    expect(html).not.toContain("<script>alert(1)");
    // Outside the inlined scripts: no element that could load anything.
    const skeleton = html.replace(/(<script\b[^>]*>)[\s\S]*?<\/script>/g, "$1</script>");
    expect(skeleton.match(/<script\b[^>]*>/g)).toEqual(['<script type="application/json" id="kiln-report-charts">', "<script>", "<script>"]);
    expect(/<link\b|<img\b|<iframe\b|src=|@import|url\(/i.test(skeleton)).toBe(false);
    const file = await writeRunReport({ pipeline: { name: "partial" }, graph, prefix });
    expect(file).toBe(path.join(prefix, "reports/partial.html"));
    expect(existsSync(file)).toBe(true);
    expect(reportPath("/p", "my pipeline/v2")).toBe("/p/reports/my_pipeline_v2.html");
  });
});
