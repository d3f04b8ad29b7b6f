/**
 * Every workspace declares what it imports (issue 14, "imports only point down"): a package that a runtime file
 * (src/, outside tests) imports for values is a `dependency` (or peer/optional one) of the importing workspace, not
 * only a devDependency (the installed app would miss it); test, bench and script files import only what the workspace
 * or the repository root declares. Type-only imports (`import type`, `export type`) are erased when run, so a
 * devDependency serves them. Imports are read from the source text (static, re-export, dynamic with a literal).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
type Manifest = { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string>; peerDependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
const ROOT_DEV = Object.keys(manifest(ROOT).devDependencies ?? {});

const WORKSPACES = [
  ...["packages", "apps"].flatMap((top) => readdirSync(join(ROOT, top)).map((d) => join(ROOT, top, d))),
  join(ROOT, "tools"),
].filter((d) => statSync(join(d, "package.json"), { throwIfNoEntry: false })?.isFile());

const SKIP = new Set(["node_modules", "dist", "build", ".turbo", ".wrangler", ".venv", "lint-fixtures", "reference", "assembly"]);
function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Bare specifiers a file imports, each with whether the statement is type-only. */
export function importsOf(code: string): { spec: string; typeOnly: boolean }[] {
  const text = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: { spec: string; typeOnly: boolean }[] = [];
  // Statements at the start of a line; dynamic imports anywhere, with a specifier that looks like one.
  for (const m of text.matchAll(/^[ \t]*(import|export)(\s+type\b)?[^;"'`]*?\bfrom\s*["']([^"']+)["']|^[ \t]*import\s*["']([^"']+)["']|\bimport\(\s*["']([@\w][\w./@:-]*)["']\s*\)/gm)) {
    const spec = m[3] ?? m[4] ?? m[5];
    if (spec !== undefined) out.push({ spec, typeOnly: m[2] !== undefined });
  }
  // Relative paths, Node built-ins and runtime-provided schemes (`node:`, `cloudflare:test`) are not packages.
  return out.filter(({ spec }) => !spec.startsWith(".") && !spec.startsWith("/") && !/^[a-z]+:/.test(spec) && !builtinModules.includes(spec));
}

/** `@scope/name/sub` -> `@scope/name`; `name/sub` -> `name`. */
const packageOf = (spec: string) => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");
const isTestFile = (rel: string) => /\.test\.ts$/.test(rel) || /(^|\/)(test|test-workers)\//.test(rel);

describe("package.json dependencies", () => {
  it("reads imports of every form", () => {
    expect(importsOf(readFileSync(join(import.meta.dirname, "lint-fixtures", "imports.ts"), "utf8"))).toEqual([
      { spec: "a/x", typeOnly: false },
      { spec: "@s/b", typeOnly: true },
      { spec: "d", typeOnly: false },
      { spec: "c", typeOnly: false },
      { spec: "e", typeOnly: false },
    ]);
  });

  for (const dir of WORKSPACES) {
    const pkg = manifest(dir);
    it(`${pkg.name}: runtime imports are dependencies; every import is declared`, () => {
      const runtime = new Set([pkg.name, ...Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies })]);
      const declared = new Set([...runtime, ...Object.keys(pkg.devDependencies ?? {}), ...ROOT_DEV]);
      const wrong: string[] = [];
      for (const file of sources(dir)) {
        const rel = relative(dir, file);
        const inRuntime = rel.startsWith("src/") && !isTestFile(rel) && !rel.startsWith("src/testing/");
        for (const { spec, typeOnly } of importsOf(readFileSync(file, "utf8"))) {
          const name = packageOf(spec);
          if (inRuntime && !typeOnly && !runtime.has(name)) wrong.push(`${rel}: ${spec} (${declared.has(name) ? "a devDependency only" : "not declared"})`);
          else if (!declared.has(name)) wrong.push(`${rel}: ${spec} (not declared)`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});
