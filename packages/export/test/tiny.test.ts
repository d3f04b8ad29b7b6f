/**
 * The offline `tiny` models (tiny.ts): generated on first use into the cache, safely from concurrent callers, with
 * the 256k Gemma vocabulary; the 1000-row test presets behind the committed goldens stay as they are.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BundleManifest } from "@siglip-edge/core";
import { ensureTinyModel, PRESETS, resolveModel, TINY_REVISION, verifyBundle } from "../src/index.ts";

const root = mkdtempSync(join(tmpdir(), "siglip-export-tiny-"));
const env = { SIGLIP_CACHE: root };
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("tiny models", () => {
  it("concurrent first uses build one bundle and leave no temporary folders", async () => {
    const lines: string[] = [];
    const dirs = await Promise.all([0, 1, 2].map(() => resolveModel("tiny", { env, dtype: "int8", log: (l) => lines.push(l) })));
    expect(new Set(dirs).size).toBe(1);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(readdirSync(join(dirs[0] as string, ".."))).toEqual(["int8"]);
    const m = JSON.parse(readFileSync(join(dirs[0] as string, "manifest.json"), "utf8")) as BundleManifest;
    expect(m.checkpoint).toEqual({ id: "tiny", revision: TINY_REVISION });
    expect(m.tokenTable).toMatchObject({ rows: 256000, dtype: "int8" });
    // int8 bundles carry the towers packed for the WebAssembly kernels, listed like every file
    expect(m.kernels).toEqual({ format: "siglip-kernels-w8a12", version: 1, vision: "vision.kernels.bin", textSplit: "text_split.kernels.bin" });
    expect(m.files.filter((f) => f.role === "kernels").map((f) => f.path)).toEqual(["vision.kernels.bin", "text_split.kernels.bin"]);
    await verifyBundle(dirs[0] as string, m);
    const later: string[] = [];
    expect(await ensureTinyModel("tiny", { env, dtype: "int8", log: (l) => later.push(l) })).toBe(dirs[0]);
    expect(later).toEqual([]); // found in the cache, not regenerated
  }, 120_000);

  it("the golden presets keep their 1000-row tables; the tiny models differ only in vocabulary", () => {
    type P = { text_config: Record<string, number>; vision_config: Record<string, number> };
    for (const [fixture, tiny] of [["tiny-fixres", "tiny-fixres-256k"], ["tiny-naflex", "tiny-naflex-256k"]] as const) {
      const a = PRESETS[fixture] as P;
      const b = PRESETS[tiny] as P;
      expect(a.text_config["vocab_size"]).toBe(1000);
      expect(b).toEqual({ ...a, text_config: { ...a.text_config, vocab_size: 256000 } });
    }
  });

  it("rejects unknown dtypes with a typed error", async () => {
    await expect(ensureTinyModel("tiny", { env, dtype: "fp8" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
