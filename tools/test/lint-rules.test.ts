/**
 * The import boundaries of eslint.config.js, shown failing:
 * - onnxruntime: value imports (static, re-exported, by path to the patched workerd build, dynamic) are errors
 *   everywhere but the engine modules; type-only imports pass.
 * - imports point down: a relative import that leaves its workspace for another (`layout/no-relative-cross-package`),
 *   and a package (packages/*) importing an app by name or path (`layout/no-package-imports-app`), are errors;
 *   package names, `./testing` entries and the shared root (fixtures/, node_modules/) pass.
 * Runs the repository's own eslint on `lint-fixtures/` (ignored by `npm run lint`) and on the same files placed, as
 * virtual files (`--stdin-filename`), in packages, apps and an engine module: the layout rules depend on where a file is.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const ESLINT = join(ROOT, "node_modules", "eslint", "bin", "eslint.js");
const FIXTURES = join(import.meta.dirname, "lint-fixtures");

interface Result {
  filePath: string;
  messages: { ruleId: string | null; line: number; message: string }[];
}

function eslint(args: string[], input?: string): Result[] {
  const r = spawnSync(process.execPath, [ESLINT, "--format", "json", ...args], { cwd: ROOT, input, encoding: "utf8" });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as Result[];
}

/** Lints the fixture `name` as if it were the file `at` (relative to the repository root). */
const lintAt = (name: string, at: string) => eslint(["--stdin", "--stdin-filename", at], readFileSync(join(FIXTURES, name), "utf8"))[0];

/** Rule ids per line of one file. */
const hits = (r: Result | undefined) => (r?.messages ?? []).map((m) => `${m.line}:${m.ruleId}`);

// Each case spawns eslint (about a second on a quiet machine, several on a busy one).
describe("eslint: onnxruntime only in the engine modules", { timeout: 60_000 }, () => {
  it("fails on value imports outside them and passes type-only imports", () => {
    const results = eslint(["--no-ignore", join(FIXTURES, "node-value.ts"), join(FIXTURES, "web-value.ts"), join(FIXTURES, "jspi-value.ts"), join(FIXTURES, "type-only.ts")]);
    const by = (name: string) => results.find((r) => r.filePath.endsWith(name));
    expect(hits(by("node-value.ts"))).toEqual(["2:@typescript-eslint/no-restricted-imports"]);
    expect(hits(by("web-value.ts"))).toEqual(["2:@typescript-eslint/no-restricted-imports", "4:@typescript-eslint/no-restricted-imports"]);
    expect(hits(by("jspi-value.ts"))).toEqual(["2:@typescript-eslint/no-restricted-imports", "5:no-restricted-syntax"]);
    expect(hits(by("type-only.ts"))).toEqual([]);
    expect(by("node-value.ts")?.messages[0]?.message).toContain("packages/runtime/src/node/ort-node-engine.ts");
  });

  it("applies in every package and app, and not in the engine module itself", () => {
    for (const at of ["packages/export/src/convert.ts", "apps/edge-api/src/worker.ts", "packages/runtime/src/engine-towers.ts"]) {
      expect(hits(lintAt("node-value.ts", at)), at).toEqual(["2:@typescript-eslint/no-restricted-imports"]);
    }
    expect(hits(lintAt("node-value.ts", "packages/runtime/src/node/ort-node-engine.ts"))).toEqual([]);
  });
});

describe("eslint: imports point down", { timeout: 60_000 }, () => {
  const CROSS = ["2:layout/no-relative-cross-package", "4:layout/no-relative-cross-package", "6:layout/no-relative-cross-package"];

  it("fails on a relative import (static, re-export, dynamic) that leaves its workspace, in src, test and bench", () => {
    for (const at of ["packages/backend/test/x.test.ts", "packages/runtime/src/x.ts", "apps/cli/test/x.test.ts", "apps/edge-api/bench/x.ts", "tools/test/deep/x.test.ts"]) {
      expect(hits(lintAt("cross-package.ts", at)), at).toEqual(CROSS);
    }
    expect(lintAt("cross-package.ts", "apps/cli/test/x.test.ts")?.messages[0]?.message).toContain("leaves apps/cli for packages/core");
    // The same paths from inside packages/core stay in packages/core.
    expect(hits(lintAt("cross-package.ts", "packages/core/test/x.test.ts"))).toEqual([]);
  });

  it("fails on a package importing an app by name, subpath or path, and lets apps import apps by name", () => {
    for (const at of ["packages/backend/bench/x.ts", "packages/metrics/test/x.test.ts", "packages/core/src/x.ts"]) {
      expect(hits(lintAt("app-import.ts", at)), at).toEqual(["2:layout/no-package-imports-app", "3:layout/no-package-imports-app", "4:layout/no-relative-cross-package", "4:layout/no-package-imports-app"]);
    }
    expect(lintAt("app-import.ts", "packages/backend/bench/x.ts")?.messages[0]?.message).toContain("packages/backend is a package and may not import the app @siglip-edge/edge-api");
    // An app above another app may import it by name (apps/cli runs the edge API); the relative path is still an error.
    expect(hits(lintAt("app-import.ts", "apps/cli/src/x.ts"))).toEqual(["4:layout/no-relative-cross-package"]);
    expect(hits(lintAt("app-import.ts", "apps/edge-api/src/x.ts"))).toEqual([]);
  });

  it("passes package names, ./testing entries and the shared root by path", () => {
    for (const at of ["packages/backend/test/x.test.ts", "apps/cli/test/x.test.ts", "packages/runtime/src/x.ts"]) {
      expect(hits(lintAt("down.ts", at)), at).toEqual([]);
    }
  });
});
