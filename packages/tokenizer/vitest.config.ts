import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two suites: Node (goldens, behaviour) and workerd (the compact vocabulary inside the Workers runtime).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "node", include: ["test/**/*.test.ts"], testTimeout: 120_000 } },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./test-workers/wrangler.toml" } })],
        test: {
          name: "workerd",
          include: ["test-workers/**/*.test.ts"],
          globalSetup: ["./test-workers/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
