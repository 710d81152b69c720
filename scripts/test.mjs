#!/usr/bin/env node
// The project's test command (`npm test`): the TypeScript type check, every vitest suite, and the
// Python kernel tests (after making sure the Python environment is set up), then one closing line
// "N passed, N failed" over all of them. Exit code is non-zero when anything failed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const work = mkdtempSync(path.join(tmpdir(), "kiln-test-report-"));
const extra = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(" ")}`);
  return spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
}

// 1. Type check: counts as one check.
const tsc = run(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "."]);
if (tsc.status === 0) passed++;
else failed++;

// 2. The Python environment (CPU PyTorch in .venv): kernel tests and the train/eval step tests need it.
const pyTests = path.join(root, "kernels/tests");
const setup = path.join(root, "scripts/setup-python.sh");
if (existsSync(setup)) {
  const r = run("bash", [setup]);
  if (r.status !== 0) failed++;
}

// 3. vitest, with a JSON report to count from.
const vitestJson = path.join(work, "vitest.json");
const vitest = run(process.execPath, [path.join(root, "node_modules/vitest/vitest.mjs"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`, ...extra]);
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + filesFailedWithoutFailedTests(report);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
} else {
  failed++;
}
if (vitest.status !== 0 && existsSync(vitestJson) === false) console.error("vitest did not produce a report");

function filesFailedWithoutFailedTests(report) {
  // A test file that failed to load (or failed outside any test) counts as one failure.
  return (report.testResults ?? []).filter((s) => s.status === "failed" && !(s.assertionResults ?? []).some((t) => t.status === "failed")).length;
}

// 4. Python kernel tests.
if (existsSync(pyTests) && !extra.length) {
  const python = path.join(root, ".venv/bin/python");
  const junit = path.join(work, "pytest.xml");
  run(existsSync(python) ? python : "python3", ["-m", "pytest", "kernels/tests", "-q", `--junitxml=${junit}`]);
  if (existsSync(junit)) {
    const xml = readFileSync(junit, "utf8");
    const suite = /<testsuite\s[^>]*>/.exec(xml)?.[0] ?? "";
    const num = (k) => Number(new RegExp(`${k}="(\\d+)"`).exec(suite)?.[1] ?? 0);
    const bad = num("failures") + num("errors");
    passed += num("tests") - bad - num("skipped");
    failed += bad;
    skipped += num("skipped");
  } else {
    failed++;
  }
}

rmSync(work, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed ? 1 : 0);
