// @ts-check
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import tseslint from "typescript-eslint";

const ROOT = import.meta.dirname;
/**
 * The workspace a file belongs to: `packages/NAME`, `apps/NAME` or `tools`; undefined for the shared root
 * (fixtures/, node_modules/, the root config files), which any workspace may reach by relative path.
 */
function workspaceOf(file) {
  const [top, name] = relative(ROOT, file).split(sep);
  if (top === "tools") return "tools";
  return (top === "packages" || top === "apps") && name !== undefined ? `${top}/${name}` : undefined;
}
/** The apps' package names (`@siglip-edge/edge-api`, ...): what a package may not import. */
const APP_NAMES = readdirSync(join(ROOT, "apps"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => {
    try {
      return [JSON.parse(readFileSync(join(ROOT, "apps", d.name, "package.json"), "utf8")).name];
    } catch {
      return [];
    }
  });

/** Calls `check(node, specifier)` for every import, re-export and dynamic import with a literal specifier. */
const eachImport = (check) => {
  const visit = (node) => {
    if (node.source?.type === "Literal" && typeof node.source.value === "string") check(node.source, node.source.value);
  };
  return { ImportDeclaration: visit, ExportAllDeclaration: visit, ExportNamedDeclaration: visit, ImportExpression: visit };
};

/**
 * Imports point down (issue 14): a workspace reaches another only by its package name (and the exports it declares,
 * `./testing` for shared test fixtures), never by a relative path into its folder; a package (packages/*) never
 * imports an app (apps/*), by name or by path. Relative paths into the shared root (fixtures/, node_modules/) pass.
 */
const layout = {
  rules: {
    "no-relative-cross-package": {
      meta: { type: "problem", schema: [], messages: { cross: "Relative import {{spec}} leaves {{from}} for {{to}}: import {{to}} by its package name (a `./testing` export for test fixtures)." } },
      create(context) {
        const from = workspaceOf(context.physicalFilename);
        if (from === undefined) return {};
        return eachImport((node, spec) => {
          if (!spec.startsWith(".")) return;
          const to = workspaceOf(resolve(dirname(context.physicalFilename), spec));
          if (to !== undefined && to !== from) context.report({ node, messageId: "cross", data: { spec, from, to } });
        });
      },
    },
    "no-package-imports-app": {
      meta: { type: "problem", schema: [], messages: { app: "{{from}} is a package and may not import the app {{to}}: move the code into the app, or the shared part down into a package." } },
      create(context) {
        const from = workspaceOf(context.physicalFilename);
        if (!from?.startsWith("packages/")) return {};
        return eachImport((node, spec) => {
          const to = spec.startsWith(".") ? workspaceOf(resolve(dirname(context.physicalFilename), spec)) : APP_NAMES.find((n) => spec === n || spec.startsWith(`${n}/`));
          if (to !== undefined && (to.startsWith("apps/") || APP_NAMES.includes(to))) context.report({ node, messageId: "app", data: { from, to } });
        });
      },
    },
  },
};

/**
 * The engine modules: the only files that import onnxruntime for values, one per engine (onnxruntime-node; the
 * onnxruntime-web `/wasm` build in Node; the patched `/jspi` build in workerd). Everything else reaches ORT through
 * the engine interface (packages/runtime/src/engine.ts); type-only imports (`import type`) stay allowed. A new engine
 * capability (say, a similarity MatMul on onnxruntime-node) belongs in its engine's module, not in a second importer.
 */
export const ENGINE_MODULES = ["packages/runtime/src/node/ort-node-engine.ts", "packages/runtime/src/node/web-engine.ts", "packages/runtime/src/workerd/index.ts"];
const ONNXRUNTIME = {
  group: ["onnxruntime-web", "onnxruntime-web/*", "onnxruntime-node", "onnxruntime-node/*", "onnxruntime-common", "onnxruntime-common/*", "**/ort-jspi.patched.mjs"],
  allowTypeImports: true,
  message: `onnxruntime is imported for values only by the engine modules (${ENGINE_MODULES.join(", ")}); use the engine interface of @siglip-edge/runtime.`,
};
const HONO = { group: ["hono", "hono/*"], message: "Only apps/edge-api imports hono." };
const NODE = { group: ["node:*"], message: "Pure packages must not import Node built-ins." };
/** `await import("onnxruntime-...")` outside the engine modules (the import rule sees static imports only). */
const DYNAMIC_ONNXRUNTIME = { selector: "ImportExpression[source.value=/^onnxruntime-(web|node|common)/]", message: ONNXRUNTIME.message };
/** One restricted-imports rule (typescript-eslint's: it knows type-only imports) with these patterns. */
const restrict = (...patterns) => ({
  "no-restricted-imports": "off",
  "@typescript-eslint/no-restricted-imports": ["error", { patterns }],
  "no-restricted-syntax": patterns.includes(ONNXRUNTIME) ? ["error", DYNAMIC_ONNXRUNTIME] : "off",
});

export default tseslint.config(
  {
    // lint-fixtures: files that must fail lint, linted on purpose by tools/test/lint-rules.test.ts.
    // packages/kernels/assembly is AssemblyScript (decorators on functions, wasm types); asc checks it at build.
    ignores: ["**/node_modules/**", "**/dist/**", "**/.turbo/**", "**/.wrangler/**", "tools/reference/.venv/**", "**/*.js", "**/*.mjs", "**/lint-fixtures/**", "packages/kernels/assembly/**", "packages/kernels/build/**"],
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { layout },
    rules: {
      "layout/no-relative-cross-package": "error",
      "layout/no-package-imports-app": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      ...restrict(ONNXRUNTIME, HONO),
    },
  },
  {
    // The engine modules own onnxruntime.
    files: ENGINE_MODULES,
    rules: restrict(HONO),
  },
  {
    // The edge API owns hono.
    files: ["apps/edge-api/**/*.ts"],
    rules: restrict(ONNXRUNTIME),
  },
  {
    // Pure packages run in Workers and browsers: no Node built-ins outside their tests and CLI adapters.
    files: ["packages/core/src/**/*.ts", "packages/tokenizer/src/**/*.ts", "packages/preprocess/src/**/*.ts", "packages/metrics/src/**/*.ts"],
    ignores: ["**/*.test.ts", "**/node/**"],
    rules: restrict(ONNXRUNTIME, HONO, NODE),
  },
);
