import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePipeline, runKiln, startKiln, tempDir } from "../../support/kiln-cli.ts";

const pipelineFile = fixturePipeline("tiny-train.ts");

function outputOf(prefix: string, name: string): string {
  const [group, leaf] = name.split("/");
  const hit = readdirSync(path.join(prefix, group)).find((d) => d.startsWith(`${leaf}-`));
  if (!hit) throw new Error(`no output for ${name}`);
  return path.join(prefix, group, hit);
}

describe("train and eval steps (real Python child processes)", () => {
  it("train a tiny MoE on two sources and report bits per byte per source", async () => {
    const prefix = path.join(tempDir(), "out");
    const res = await runKiln(["run", pipelineFile, "--prefix", prefix], { KILN_TEST_TRAIN_STEPS: "20" });
    expect(res.code, res.stderr).toBe(0);
    const train = outputOf(prefix, "train/tiny-moe");
    const info = JSON.parse(readFileSync(path.join(train, ".kiln/info.json"), "utf8"));
    expect(info.result.steps).toBe(20);
    expect(info.result.finalLoss).toBeLessThan(Math.log(40));
    expect(info.counters.train_steps).toBe(20);
    expect(existsSync(path.join(train, "model.pt"))).toBe(true);
    const evalInfo = JSON.parse(readFileSync(path.join(outputOf(prefix, "eval/tiny-moe"), ".kiln/info.json"), "utf8"));
    expect(Object.keys(evalInfo.result.sources).sort()).toEqual(["alpha", "beta"]);
    for (const s of Object.values(evalInfo.result.sources) as Array<{ bpb: number }>) expect(s.bpb).toBeGreaterThan(0);
    const mean = (evalInfo.result.sources.alpha.bpb + evalInfo.result.sources.beta.bpb) / 2;
    expect(evalInfo.result.macroBpb).toBeCloseTo(mean, 10);
    expect(res.stderr).toMatch(/train\/tiny-moe: step 20\/20 loss/);
  });

  it("a SIGKILLed train step resumes from its checkpoint on the next run", async () => {
    const prefix = path.join(tempDir(), "out");
    const env = { KILN_TEST_TRAIN_STEPS: "24", KILN_TRAIN_TEST_STEP_DELAY_S: "0.15" };
    const { child, done } = startKiln(["run", pipelineFile, "--prefix", prefix, "--only", "^train/"], env);
    const deadline = Date.now() + 90_000;
    let trainDir = "";
    for (;;) {
      if (Date.now() > deadline) throw new Error("no checkpoint appeared");
      try {
        trainDir = outputOf(prefix, "train/tiny-moe");
        // The attempt writes into its resumable staging folder until it commits.
        const resume = path.join(prefix, ".kiln-staging", path.relative(prefix, trainDir), "resume");
        if (readdirSync(resume).some((f) => f.startsWith("checkpoint"))) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await done;
    expect(readFileSync(path.join(trainDir, ".kiln/status"), "utf8").trim()).toBe("RUNNING");

    const again = await runKiln(["run", pipelineFile, "--prefix", prefix, "--only", "^train/"], { KILN_TEST_TRAIN_STEPS: "24" });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/training 24 steps \(resumed at step \d+\)/);
    const info = JSON.parse(readFileSync(path.join(trainDir, ".kiln/info.json"), "utf8"));
    expect(info.result.steps).toBe(24);
    expect(info.counters.train_steps).toBeLessThan(24);
    const summary = JSON.parse(readFileSync(path.join(trainDir, "summary.json"), "utf8"));
    expect([summary.model_path, summary.checkpoint_path, summary.metrics_path]).toEqual(["model.pt", "checkpoint.pt", "metrics.jsonl"]);
    expect(existsSync(path.join(prefix, ".kiln-staging"))).toBe(false);
  });

  it("fails with what to install when the interpreter has no PyTorch", async () => {
    const prefix = path.join(tempDir(), "out");
    const res = await runKiln(["run", pipelineFile, "--prefix", prefix, "--only", "^train/"], { KILN_PYTHON: "/usr/bin/python3" });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/step 'train\/tiny-moe' failed: \/usr\/bin\/python3 cannot import torch: ModuleNotFoundError/);
    expect(res.stderr).toContain("run `bash scripts/setup-python.sh`");
  });
});
