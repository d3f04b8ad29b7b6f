/**
 * A vitest reporter for `npm test` (tools/run-tests.ts adds it next to the default one): writes what one package's
 * run did to `$SIGLIP_TEST_REPORTS/<package>.json`: every test file with its state, its own errors (a file that
 * fails to load or throws outside a test has no failed test, only these) and its test counts, plus the run's
 * unhandled errors (e.g. a global setup that throws). Without SIGLIP_TEST_REPORTS it does nothing.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

export interface FileReport {
  file: string;
  project: string;
  state: string;
  errors: string[];
  tests: { passed: number; failed: number; skipped: number };
}

export interface PackageReport {
  package: string;
  reason: string;
  files: FileReport[];
  unhandledErrors: string[];
}

interface ErrorLike {
  name?: string;
  message?: string;
}

function firstLine(e: ErrorLike): string {
  return `${e.name ?? "Error"}: ${(e.message ?? String(e)).split("\n")[0] ?? ""}`;
}

export default class SummaryReporter implements Reporter {
  #root = process.cwd();

  onInit(ctx: { config: { root: string } }): void {
    this.#root = ctx.config.root;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<ErrorLike>, reason: string): void {
    const dir = process.env["SIGLIP_TEST_REPORTS"];
    if (dir === undefined || dir === "") return;
    const name = (JSON.parse(readFileSync(join(this.#root, "package.json"), "utf8")) as { name?: string }).name ?? this.#root;
    const files = testModules.map((m): FileReport => {
      const tests = { passed: 0, failed: 0, skipped: 0 };
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === "passed") tests.passed++;
        else if (s === "failed") tests.failed++;
        else tests.skipped++;
      }
      return { file: relative(this.#root, m.moduleId), project: m.project.name, state: m.state(), errors: m.errors().map(firstLine), tests };
    });
    const report: PackageReport = { package: name, reason, files, unhandledErrors: unhandledErrors.map(firstLine) };
    writeFileSync(join(dir, `${name.replaceAll("/", "__")}.json`), JSON.stringify(report, null, 1));
  }
}
