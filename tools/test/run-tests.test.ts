/**
 * `npm test`'s runner (tools/run-tests.ts) on a temporary fixture workspace (outside this repository's workspaces,
 * with this repository's node_modules linked in for turbo and vitest): one package's test file throws at import,
 * another throws outside any test after its tests passed. The runner must exit non-zero, name both files and both
 * packages, still run the packages after them, and count packages, files and tests in its closing line.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
const root = mkdtempSync(join(tmpdir(), "siglip-run-tests-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
}

function pkg(name: string, files: Record<string, string>): void {
  write(`packages/${name}/package.json`, JSON.stringify({ name: `fx-${name}`, private: true, type: "module", scripts: { test: "vitest run" } }));
  for (const [file, text] of Object.entries(files)) write(`packages/${name}/test/${file}`, text);
}

const OK = 'import { expect, it } from "vitest";\nit("adds", () => expect(1 + 1).toBe(2));\nit.skip("later", () => undefined);\n';

describe("tools/run-tests.ts", () => {
  it("counts a suite that throws at import and an error outside a test as failures, and runs every package", () => {
    write("package.json", JSON.stringify({ name: "fixture-root", private: true, type: "module", workspaces: ["packages/*"], packageManager: "npm@11.19.1" }));
    write("turbo.json", JSON.stringify({ envMode: "loose", tasks: { test: { cache: false } } }));
    symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
    pkg("a", { "ok.test.ts": OK });
    pkg("b", { "ok.test.ts": OK, "broken.test.ts": 'import { it } from "vitest";\nthrow new Error("boom at import");\nit("never runs", () => undefined);\n' });
    pkg("c", { "late.test.ts": 'import { it } from "vitest";\nit("passes, then throws later", () => void setTimeout(() => { throw new Error("thrown outside a test"); }, 0));\nit("waits", () => new Promise((r) => setTimeout(r, 50)));\n' });
    pkg("d", { "ok.test.ts": OK });
    write("packages/e/package.json", JSON.stringify({ name: "fx-e", private: true })); // no test script: not counted

    const r = spawnSync(process.execPath, [join(REPO, "tools", "run-tests.ts")], {
      cwd: root,
      env: { ...process.env, PATH: [join(REPO, "node_modules", ".bin"), process.env["PATH"]].join(delimiter) },
      encoding: "utf8",
      timeout: 120_000,
    });
    const out = r.stdout;
    const closing = out.trimEnd().split("\n").at(-1) ?? "";
    console.log(`[run-tests] exit ${r.status}; ${closing}`);
    expect(r.status, out + r.stderr).toBe(1);
    // every package ran, the ones after the failures included
    for (const p of ["fx-a", "fx-b", "fx-c", "fx-d"]) expect(out).toContain(`${p}:test: `);
    const failed = out.slice(out.lastIndexOf("\nFailed:\n"));
    expect(failed).toContain("fx-b: test/broken.test.ts: Error: boom at import");
    expect(failed).toContain("fx-c: error outside the test files: Error: thrown outside a test");
    expect(failed).not.toMatch(/fx-a|fx-d/);
    // a: 1 passed + 1 skipped; b: the same in ok.test.ts, broken.test.ts has none; c: 2 passed; d: like a
    expect(closing).toBe("npm test: 4 packages (2 failed), 5 test files (1 failed), 8 tests: 5 passed, 0 failed, 3 skipped");
  }, 180_000);
});
