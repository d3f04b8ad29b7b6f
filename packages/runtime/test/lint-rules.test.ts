/**
 * The onnxruntime boundary of eslint.config.js, shown failing: value imports of onnxruntime (static, re-exported,
 * by path to the patched workerd build, dynamic) are errors everywhere but the engine modules; type-only imports pass.
 * Runs the repository's own eslint on `lint-fixtures/` (ignored by `npm run lint`) and on virtual files placed in
 * other packages and in an engine module.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");
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

/** Rule ids per line of one file. */
const hits = (r: Result | undefined) => (r?.messages ?? []).map((m) => `${m.line}:${m.ruleId}`);

describe("eslint: onnxruntime only in the engine modules", () => {
  it("fails on value imports outside them and passes type-only imports", () => {
    const results = eslint(["--no-ignore", FIXTURES]);
    const by = (name: string) => results.find((r) => r.filePath.endsWith(name));
    expect(hits(by("node-value.ts"))).toEqual(["2:@typescript-eslint/no-restricted-imports"]);
    expect(hits(by("web-value.ts"))).toEqual(["2:@typescript-eslint/no-restricted-imports", "4:@typescript-eslint/no-restricted-imports"]);
    expect(hits(by("jspi-value.ts"))).toEqual(["2:@typescript-eslint/no-restricted-imports", "5:no-restricted-syntax"]);
    expect(hits(by("type-only.ts"))).toEqual([]);
    expect(by("node-value.ts")?.messages[0]?.message).toContain("packages/runtime/src/node/ort-node-engine.ts");
  });

  it("applies in every package and app, and not in the engine module itself", () => {
    const code = readFileSync(join(FIXTURES, "node-value.ts"), "utf8");
    for (const at of ["packages/export/src/convert.ts", "apps/edge-api/src/worker.ts", "packages/runtime/src/engine-towers.ts"]) {
      expect(hits(eslint(["--stdin", "--stdin-filename", at], code)[0]), at).toEqual(["2:@typescript-eslint/no-restricted-imports"]);
    }
    expect(hits(eslint(["--stdin", "--stdin-filename", "packages/runtime/src/node/ort-node-engine.ts"], code)[0])).toEqual([]);
  });
});
