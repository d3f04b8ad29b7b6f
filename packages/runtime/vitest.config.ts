import { defineConfig } from "vitest/config";

// Parity tests convert seeded checkpoints and run them on both engines: minutes on 2 cores, one file at a time.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 120_000, fileParallelism: false } });
