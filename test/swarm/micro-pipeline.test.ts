/**
 * The mixture-swarm pipeline's micro profile through the real `kiln run` (real data steps, real
 * PyTorch proxies): a proxy SIGKILLed mid-training resumes from its checkpoint; the whole swarm
 * runs every stage and writes mixture.json with caps and minimum weight kept; a second run trains
 * nothing; and rerunning the fit and summary gives mixture.json byte for byte. The micro run costs
 * about 3 minutes of CPU (measured; most of it starting PyTorch for 18 proxies and their evals), so
 * the limits leave room for a shared machine.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runKiln, startKiln, tempDir } from "../support/kiln-cli.ts";

const pipelineFile = path.join(repoRoot, "pipelines/mixture-swarm.ts");
const env = { KILN_SWARM_PROFILE: "micro" };

function outputOf(prefix: string, name: string): string {
  const dir = path.join(prefix, path.dirname(name));
  const hit = readdirSync(dir).find((d) => d.startsWith(`${path.basename(name)}-`) && /-[0-9a-f]{8}$/.test(d));
  if (!hit) throw new Error(`no output for ${name}`);
  return path.join(dir, hit);
}

const info = (dir: string) => JSON.parse(readFileSync(path.join(dir, ".kiln/info.json"), "utf8"));

describe("mixture swarm, micro profile (real kiln runs)", () => {
  const prefix = path.join(tempDir("kiln-swarm-"), "out");

  it("a proxy step killed mid-training resumes from its checkpoint", async () => {
    const only = ["--only", "^swarm/train/swarm-000$"];
    const { child, done } = startKiln(["run", pipelineFile, "--prefix", prefix, ...only], { ...env, KILN_TRAIN_TEST_STEP_DELAY_S: "0.4" });
    const deadline = Date.now() + 100_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error("no checkpoint appeared");
      try {
        const resume = path.join(prefix, ".kiln-staging", path.relative(prefix, outputOf(prefix, "swarm/train/swarm-000")), "resume");
        if (readdirSync(resume).includes("checkpoint.pt")) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await done;
    const proxy = outputOf(prefix, "swarm/train/swarm-000");
    expect(readFileSync(path.join(proxy, ".kiln/status"), "utf8").trim()).toBe("RUNNING");
    const again = await runKiln(["run", pipelineFile, "--prefix", prefix, ...only], env);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(again.stderr).toMatch(/swarm\/train\/swarm-000: training 12 steps \(resumed at step [48]\)/);
    const result = info(proxy);
    expect(result.result.steps).toBe(12);
    expect(result.counters.train_steps).toBeLessThan(12);
    expect(Object.keys(result.result.mixture.weights).sort()).toEqual(["brown-learned", "brown-press", "js-ts-code"]);
  }, 600_000);

  it("runs every stage, a second run trains nothing, and the fit and summary rerun give the same mixture.json bytes", async () => {
    const first = await runKiln(["run", pipelineFile, "--prefix", prefix, "--max-concurrent", "2"], env);
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    expect(first.stdout).toContain("out-of-fold Spearman ρ");
    expect(first.stdout).toMatch(/proposed mixture \(90% bootstrap intervals\)/);
    expect(first.stdout).toMatch(/gain of proposal ± SE/);
    const summaryDir = outputOf(prefix, "swarm/summary");
    const file = path.join(summaryDir, "mixture.json");
    const bytes = readFileSync(file, "utf8");
    const doc = JSON.parse(bytes);
    expect(["accepted", "not-accepted"]).toContain(doc.status);
    expect(doc.sources.map((s: { name: string }) => s.name)).toEqual(["brown-learned", "brown-press", "js-ts-code"]);
    for (const s of doc.sources) {
      expect(s.weight).toBeGreaterThanOrEqual(doc.minWeight - 1e-6);
      expect(s.weight).toBeLessThanOrEqual(s.cap + 1e-6);
      expect(s.epochs).toBeLessThanOrEqual(doc.maxEpochs + 1e-6);
    }
    expect(doc.verification.gains).toHaveLength(2);
    const plan = info(outputOf(prefix, "swarm/plan")).result;
    for (const m of Object.values(plan.mixtures) as Array<{ role: string; withinCaps: boolean }>) if (m.role === "swarm") expect(m.withinCaps).toBe(true);
    expect(readFileSync(path.join(prefix, "reports/mixture-swarm.html"), "utf8")).toContain("Mixture search");

    const second = await runKiln(["run", pipelineFile, "--prefix", prefix, "--max-concurrent", "2"], env);
    expect(second.code, second.stderr.slice(-3000)).toBe(0);
    expect(second.stderr).not.toMatch(/training \d+ steps/);
    expect(readFileSync(file, "utf8")).toBe(bytes);

    const attemptBefore = info(summaryDir).attempt.id;
    const rerun = await runKiln(["run", pipelineFile, "--prefix", prefix, "--max-concurrent", "2", "--force", "swarm/fit", "--force", "swarm/summary"], env);
    expect(rerun.code, rerun.stderr.slice(-3000)).toBe(0);
    expect(rerun.stderr).not.toMatch(/training \d+ steps/);
    expect(info(summaryDir).attempt.id).not.toBe(attemptBefore);
    expect(rerun.stderr).toMatch(/swarm\/fit/);
    expect(readFileSync(file, "utf8")).toBe(bytes);
  }, 900_000);
});
