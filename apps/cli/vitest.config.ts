import { defineConfig } from "vitest/config";

// `siglip serve` tests start onnxruntime sessions and `wrangler dev` (lingering-close.test.ts): generous timeouts,
// as apps/edge-api's node project has.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000 } });
