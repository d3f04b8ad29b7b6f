/**
 * Runs in Node before the workerd tests: starts the KServe v2 dev backend on 127.0.0.1 with the tiny bundle, so the
 * backend test inside workerd reaches a real backend over real HTTP. Wire it in vitest.config.ts next to
 * global-setup.ts (`globalSetup: ["test/workerd/global-setup.ts", "test/workerd/backend-global-setup.ts"]`).
 */
import { startDevBackend } from "@siglip-edge/backend";
import type { TestProject } from "vitest/node";
import { tinyBundle } from "../node/fixtures.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the dev backend serving `tiny-fixres-text` / `tiny-fixres-vision`. */
    kserveBackendUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const backend = await startDevBackend({ bundles: [{ dir: await tinyBundle() }] });
  project.provide("kserveBackendUrl", backend.url);
  return () => backend.close();
}
