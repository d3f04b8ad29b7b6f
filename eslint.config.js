// @ts-check
import tseslint from "typescript-eslint";

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
    // lint-fixtures: files that must fail lint, linted on purpose by packages/runtime/test/lint-rules.test.ts.
    // packages/kernels/assembly is AssemblyScript (decorators on functions, wasm types); asc checks it at build.
    ignores: ["**/node_modules/**", "**/dist/**", "**/.turbo/**", "**/.wrangler/**", "tools/reference/.venv/**", "**/*.js", "**/*.mjs", "**/lint-fixtures/**", "packages/kernels/assembly/**", "packages/kernels/build/**"],
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
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
