/**
 * `npm test`: every workspace's tests through turbo, one package at a time (2-core CI machines, deterministic
 * output), all of them even when one fails (`--continue`), then what failed and one closing line:
 *
 *   npm test: 10 packages (1 failed), 58 test files (1 failed), 357 tests: 355 passed, 0 failed, 2 skipped
 *
 * Counts come from tools/vitest-summary-reporter.ts (added to each package's `vitest run`), not from scraping the
 * logs: a test file that fails to load or throws outside a test counts as a failed file, an error outside any file
 * (a global setup) fails its package, and a package with no report (vitest never got to its end) or a non-zero
 * exit fails too. Exits non-zero when anything failed. Arguments go to `turbo run test` (e.g. `--filter=PKG`).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PackageReport } from "./vitest-summary-reporter.ts";

const REPORTER = join(import.meta.dirname, "vitest-summary-reporter.ts");
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", TURBO_NO_UPDATE_NOTIFIER: "1", FORCE_COLOR: "0", NO_COLOR: "1" };
const turboArgs = process.argv.slice(2);

const reports = mkdtempSync(join(tmpdir(), "siglip-test-reports-"));
// `--summarize` makes turbo write a JSON run summary (every task and its exit code) and print its path.
const SUMMARY = /^\s*Summary:\s+(\S+\.json)\s*$/;
let summaryPath: string | undefined;
let rest = "";

const child = spawn("turbo", ["run", "test", "--concurrency=1", "--continue", "--summarize", "--output-logs=full", ...turboArgs, "--", "--reporter=default", `--reporter=${REPORTER}`], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...env, SIGLIP_TEST_REPORTS: reports },
});

function scan(line: string): void {
  const m = SUMMARY.exec(line.replace(/\x1b\[[0-9;]*m/g, ""));
  if (m?.[1] !== undefined) summaryPath = m[1];
}

child.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  const lines = (rest + chunk.toString("utf8")).split("\n");
  rest = lines.pop() ?? "";
  lines.forEach(scan);
});

/** The test tasks turbo ran (packages with a test script) and their exit codes, from its run summary. */
function tasks(): { package: string; exitCode: number | undefined }[] {
  if (summaryPath === undefined || !existsSync(summaryPath)) return [];
  const summary = JSON.parse(readFileSync(summaryPath, "utf8")) as { tasks: { package: string; command: string; execution?: { exitCode?: number } }[] };
  rmSync(summaryPath, { force: true });
  return summary.tasks.filter((t) => t.command !== "<NONEXISTENT>").map((t) => ({ package: t.package, exitCode: t.execution?.exitCode }));
}

child.on("close", (code) => {
  scan(rest);
  const ran = tasks();
  const failures: string[] = [];
  if (ran.length === 0) failures.push("turbo ran no test task (no run summary): see its output above");
  let files = 0;
  let failedFiles = 0;
  const tests = { passed: 0, failed: 0, skipped: 0 };
  let failedPackages = 0;
  for (const { package: pkg, exitCode } of ran) {
    const path = join(reports, `${pkg.replaceAll("/", "__")}.json`);
    const before = failures.length;
    if (!existsSync(path)) {
      failures.push(`${pkg}: no test report (vitest did not finish: see its output above)`);
    } else {
      const r = JSON.parse(readFileSync(path, "utf8")) as PackageReport;
      for (const f of r.files) {
        files++;
        tests.passed += f.tests.passed;
        tests.failed += f.tests.failed;
        tests.skipped += f.tests.skipped;
        if (f.state === "failed" || f.errors.length > 0 || f.tests.failed > 0) {
          failedFiles++;
          const why = f.errors.length > 0 ? f.errors.join("; ") : `${f.tests.failed} failed test${f.tests.failed === 1 ? "" : "s"}`;
          failures.push(`${pkg}: ${f.file}: ${why}`);
        }
      }
      for (const e of r.unhandledErrors) failures.push(`${pkg}: error outside the test files: ${e}`);
      if (r.reason !== "passed" && failures.length === before) failures.push(`${pkg}: run ended as "${r.reason}"`);
    }
    if (exitCode !== 0 && failures.length === before) failures.push(`${pkg}: vitest exited with ${exitCode ?? "no exit code"}`);
    if (failures.length > before) failedPackages++;
  }
  rmSync(reports, { recursive: true, force: true });
  const ok = failures.length === 0 && code === 0;
  if (failures.length > 0) console.log(`\nFailed:\n${failures.map((f) => `  ${f}`).join("\n")}`);
  else if (code !== 0) console.log(`\nturbo exited with ${code ?? "a signal"}`);
  console.log(
    `\nnpm test: ${ran.length} packages (${failedPackages} failed), ${files} test files (${failedFiles} failed), ` +
      `${tests.passed + tests.failed + tests.skipped} tests: ${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped`,
  );
  process.exit(ok ? 0 : 1);
});
