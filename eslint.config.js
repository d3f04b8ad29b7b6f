// @ts-check
import tseslint from "typescript-eslint";

const ONNXRUNTIME = { group: ["onnxruntime-web", "onnxruntime-web/*", "onnxruntime-node"], message: "Only packages/runtime imports onnxruntime." };
const HONO = { group: ["hono", "hono/*"], message: "Only apps/edge-api imports hono." };

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "**/.turbo/**", "**/.wrangler/**", "tools/reference/.venv/**", "**/*.js", "**/*.mjs"],
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": ["error", { patterns: [ONNXRUNTIME, HONO] }],
    },
  },
  {
    // The runtime package owns onnxruntime (engines, the workerd recipe, its bench against transformers.js).
    files: ["packages/runtime/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [HONO] }] },
  },
  {
    // The edge API owns hono.
    files: ["apps/edge-api/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [ONNXRUNTIME] }] },
  },
  {
    // Until packages/runtime owns inference, the exporter's parity runner imports onnxruntime in this one module.
    files: ["packages/export/src/ort.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    // Pure packages run in Workers and browsers: no Node built-ins outside their tests and CLI adapters.
    files: ["packages/core/src/**/*.ts", "packages/tokenizer/src/**/*.ts", "packages/preprocess/src/**/*.ts", "packages/metrics/src/**/*.ts"],
    ignores: ["**/*.test.ts", "**/node/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [ONNXRUNTIME, HONO, { group: ["node:*"], message: "Pure packages must not import Node built-ins." }] }],
    },
  },
);
