import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGraph, type Graph } from "../../src/graph/dag.ts";
import { loadPipeline } from "../../src/graph/pipeline.ts";
import { step } from "../../src/graph/step.ts";
import { versioned } from "../../src/graph/versioned.ts";
import { runGraph } from "../../src/executor/scheduler.ts";
import { writeRunReport } from "../../src/report/index.ts";
import { fixturePipeline, repoRoot, runKiln, tempDir } from "../support/kiln-cli.ts";
import { outputOf, reportCommand, writeMiniSources } from "./helpers.ts";

const CHROMIUM = process.env.KILN_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`SKIPPED: run report browser tests need Chromium at ${CHROMIUM} (apt-get install -y chromium, or set KILN_CHROMIUM)`);

const pipelineFile = fixturePipeline("report-mini.ts");
const TRAIN_STEPS = 20;

interface SeriesView {
  name: string;
  type: string;
  data: unknown[];
}
interface ChartView {
  series: SeriesView[];
  categories: string[];
  /** Share of the first series' data points with a pixel of their colour drawn at them. */
  drawn: number;
}

/**
 * What ECharts holds for a chart, and whether its first series is on the canvas: every data point is
 * mapped to pixels with the chart's own convertToPixel (for bars: the centre of the bar's laid-out
 * rectangle) and the canvas is read there.
 */
function inspectChart(page: Page, id: string): Promise<ChartView> {
  return page.evaluate<ChartView>(`(() => {
    const el = document.getElementById(${JSON.stringify(id)});
    const chart = echarts.getInstanceByDom(el);
    const option = chart.getOption();
    const series = option.series.map((s) => ({ name: s.name, type: s.type, data: s.data }));
    const xAxis = (option.xAxis || [])[0];
    const categories = xAxis && xAxis.data ? xAxis.data : [];
    const canvas = el.querySelector("canvas");
    const ctx = canvas.getContext("2d");
    const scale = canvas.width / el.clientWidth;
    const first = series[0];
    const half = first.type === "bar" ? 12 : 3;
    let hits = 0;
    first.data.forEach((d, i) => {
      const color = chart.getVisual({ seriesIndex: 0, dataIndex: i }, "color");
      const rgb = [1, 3, 5].map((k) => parseInt(color.slice(k, k + 2), 16));
      let x, y;
      if (first.type === "bar") {
        const rect = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(i);
        [x, y] = [rect.x + rect.width / 2, rect.y + rect.height / 2];
      } else {
        [x, y] = chart.convertToPixel({ seriesIndex: 0 }, Array.isArray(d) ? d : d.value);
      }
      const px = ctx.getImageData(Math.round((x - half) * scale), Math.round((y - 3) * scale), Math.round((2 * half + 1) * scale), Math.round(7 * scale)).data;
      for (let k = 0; k < px.length; k += 4) {
        if (px[k + 3] > 150 && Math.abs(px[k] - rgb[0]) < 40 && Math.abs(px[k + 1] - rgb[1]) < 40 && Math.abs(px[k + 2] - rgb[2]) < 40) { hits++; break; }
      }
    });
    return { series, categories, drawn: first.data.length ? hits / first.data.length : 0 };
  })()`);
}

let browser: Browser | undefined;
let prefix = "";
let graph: Graph;

async function openReport(file: string): Promise<{ page: Page; problems: string[]; requests: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => requests.push(r.url()));
  await page.route(/^(?!file:)/, (route) => route.abort());
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction("document.documentElement.getAttribute('data-charts') !== null");
  return { page, problems, requests };
}

function info(name: string, root = prefix) {
  return JSON.parse(readFileSync(path.join(outputOf(root, name), ".kiln/info.json"), "utf8"));
}

/** The text of the table cell in `column` of the row whose first cell is `rowLabel`. */
function cell(page: Page, section: string, rowLabel: string, column: number): Promise<string> {
  return page.locator(`#${section} table tr`, { has: page.locator("td:first-child", { hasText: new RegExp(`^${rowLabel}$`) }) }).locator("td").nth(column).innerText();
}

beforeAll(async () => {
  if (!haveChromium) return;
  const dataDir = tempDir("kiln-report-data-");
  writeMiniSources(dataDir);
  // The fixture reads this when imported: by the `kiln run` child and by `kiln report` in this process.
  process.env.KILN_TEST_REPORT_DATA = dataDir;
  prefix = path.join(tempDir(), "out");
  const res = await runKiln(["run", pipelineFile, "--prefix", prefix], { KILN_TEST_TRAIN_STEPS: String(TRAIN_STEPS) });
  expect(res.code, res.stderr).toBe(0);
  graph = buildGraph((await loadPipeline(pipelineFile)).steps);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
});

describe("run report in Chromium", () => {
  it.skipIf(!haveChromium)("shows every step, the DAG, the loss curve, bits per byte and data tables, with no console errors and no network", async () => {
    const printed = (await reportCommand(["report", pipelineFile, "--prefix", prefix])).trim();
    expect(printed).toBe(path.join(prefix, "reports/report-mini.html"));
    const { page, problems, requests } = await openReport(printed);
    expect(problems).toEqual([]);
    expect(requests).toEqual([pathToFileURL(printed).href]);
    expect(await page.locator(".chart").count()).toBe(Number(await page.getAttribute("html", "data-charts")));

    const names = graph.nodes.map((n) => n.name);
    expect(names).toHaveLength(10);
    for (const name of names) {
      expect(await page.locator("table.steps .step-name", { hasText: new RegExp(`^${name}$`) }).isVisible(), name).toBe(true);
    }
    expect(await page.locator("table.steps .state-SUCCESS").count()).toBe(10);

    const dag = await inspectChart(page, "chart-dag");
    expect(dag.series[0].type).toBe("graph");
    expect(dag.series[0].data.map((d) => (d as { name: string }).name).sort()).toEqual([...names].sort());
    expect(dag.drawn).toBe(1);

    const loss = await inspectChart(page, "chart-loss");
    const logged = readFileSync(path.join(outputOf(prefix, "train/mini"), "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === "step")
      .map((e) => [e.step, e.loss]);
    expect(logged).toHaveLength(TRAIN_STEPS);
    expect(loss.series).toEqual([{ name: "train/mini", type: "line", data: logged }]);
    expect(logged[0][1]).toBeGreaterThan(logged[TRAIN_STEPS - 1][1]);
    expect(loss.drawn).toBeGreaterThanOrEqual(0.9);

    const evaluated = info("eval/mini").result;
    const bpb = await inspectChart(page, "chart-bpb");
    expect(bpb.categories).toEqual(["alpha", "beta"]);
    expect(bpb.series.map((s) => [s.name, s.data])).toEqual([["eval/mini", [evaluated.sources.alpha.bpb, evaluated.sources.beta.bpb]]]);
    expect(bpb.drawn).toBe(1);
    expect(await cell(page, "evaluation", "macro average", 1)).toBe(evaluated.macroBpb.toFixed(4));

    for (const source of ["alpha", "beta"]) {
      const n = info(`normalized/${source}`).result.bySource[source];
      const c = info(`consolidated/${source}`).result.bySource[source];
      expect(await cell(page, "data", source, 3)).toBe(String(n.read.documents));
      expect(await cell(page, "data", source, 7)).toBe(String(n.kept.documents));
      expect(await cell(page, "data", source, 10)).toBe(String(c.kept.documents));
    }
    const stages = await inspectChart(page, "chart-stage-docs");
    expect(stages.series.map((s) => s.name)).toEqual(["read", "normalized", "after exact dedup", "after consolidate"]);
    expect(stages.drawn).toBe(1);
    const removed = info("consolidated/alpha").result.removed["near-duplicate"];
    expect(removed).toBeGreaterThan(0);
    expect(await cell(page, "data", "consolidated/alpha", 3)).toBe(String(removed));

    // KILN_SAVE_REPORT_SCREENSHOT=1 refreshes docs/report.png; otherwise the screenshot goes to a temporary folder.
    const shot = process.env.KILN_SAVE_REPORT_SCREENSHOT === "1" ? path.join(repoRoot, "docs/report.png") : path.join(tempDir(), "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe("PNG");
    await page.close();
  });

  it.skipIf(!haveChromium)("reports a failed run: FAILED and DEP_FAILED steps, sections with what finished, no console errors", async () => {
    // The finished data steps, without the model steps; then training fails (an interpreter without torch).
    const failedPrefix = path.join(tempDir(), "out");
    cpSync(prefix, failedPrefix, { recursive: true });
    for (const name of ["train/mini", "eval/mini"]) rmSync(outputOf(failedPrefix, name), { recursive: true });
    const res = await runKiln(["run", pipelineFile, "--prefix", failedPrefix], { KILN_PYTHON: "/usr/bin/python3" });
    expect(res.code).toBe(1);
    const file = (await reportCommand(["report", pipelineFile, "--prefix", failedPrefix])).trim();
    const { page, problems } = await openReport(file);
    expect(problems).toEqual([]);
    expect(await cell(page, "steps", "train/mini", 1)).toBe("FAILED");
    expect(await cell(page, "steps", "eval/mini", 1)).toBe("DEP_FAILED");
    expect(await cell(page, "steps", "train/mini", 7)).toMatch(/cannot import torch/);
    expect(await page.locator("table.steps .state-SUCCESS").count()).toBe(8);
    const dag = await inspectChart(page, "chart-dag");
    const category = (name: string) => (dag.series[0].data.find((d) => (d as { name: string }).name === name) as { category: number }).category;
    expect([category("train/mini"), category("eval/mini"), category("tokenized/beta")]).toEqual([1, 3, 0]);
    expect(await page.locator("#training .note", { hasText: "No step has logged a training loss" }).isVisible()).toBe(true);
    expect(await page.locator("#evaluation .note", { hasText: "No eval step has finished yet." }).isVisible()).toBe(true);
    expect((await inspectChart(page, "chart-stage-docs")).drawn).toBe(1);
    await page.close();
  });

  it.skipIf(!haveChromium)("draws a mixture-swarm step's predicted against measured values and proposed weights", async () => {
    const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures/mixture-swarm.json"), "utf8"));
    const swarm = step({ name: "mixture/swarm", config: { salt: versioned(Math.random()) }, run: async () => fixture });
    const swarmGraph = buildGraph([swarm]);
    const swarmPrefix = path.join(tempDir(), "out");
    expect((await runGraph(swarmGraph, { prefix: swarmPrefix, log: () => undefined })).ok).toBe(true);
    const { page, problems } = await openReport(await writeRunReport({ pipeline: "swarm", graph: swarmGraph, prefix: swarmPrefix }));
    expect(problems).toEqual([]);
    const predicted = await inspectChart(page, "chart-mixture-predicted-0");
    expect(predicted.series[0].type).toBe("scatter");
    expect(predicted.series[0].data.map((d) => (d as { value: number[] }).value)).toEqual(
      fixture.proxies.filter((p: { measured: number | null }) => p.measured !== null).map((p: { predicted: number; measured: number }) => [p.predicted, p.measured]),
    );
    expect(predicted.drawn).toBe(1);
    const weights = await inspectChart(page, "chart-mixture-weights-0");
    expect(weights.categories).toEqual(fixture.sources);
    expect(weights.series.map((s) => s.type)).toEqual(["bar", "candlestick"]);
    expect(weights.series[0].data).toEqual([0.3, 0.15, 0.55]);
    expect(weights.drawn).toBe(1);
    expect(await cell(page, "mixture", "web", 3)).toBe("0.6300");
    await page.close();
  });
});
