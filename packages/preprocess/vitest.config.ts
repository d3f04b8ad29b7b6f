import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two suites: Node (goldens, fuzz, limits) and workerd (the same pipeline inside the Workers runtime).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "node", include: ["test/**/*.test.ts"], testTimeout: 120_000 } },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./test-workers/wrangler.toml" } })],
        test: { name: "workerd", include: ["test-workers/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
});
