/** Bundle manifest contents and load-time verification of sizes and hashes. */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasErrorCode } from "@siglip-edge/core";
import { loadManifest, readManifest, sha256File } from "../src/bundle.ts";
import { bundle, goldenMeta, removeTmp } from "./fixtures.ts";

afterAll(removeTmp);

describe("bundle", () => {
  it("lists every file with role, size and sha256, and the checkpoint's scale, bias and preprocessing", async () => {
    const dir = await bundle("tiny-naflex");
    const m = await readManifest(dir);
    expect(m.family).toBe("naflex");
    expect(m.files.map((f) => f.path).sort()).toEqual(
      ["position_grid.bin", "text.onnx", "text.onnx.data", "text_split.onnx", "text_split.onnx.data", "token_table.bin", "vision.onnx", "vision.onnx.data"].sort(),
    );
    for (const f of m.files) expect(await sha256File(join(dir, f.path))).toBe(f.sha256);
    expect(m.logitScale).toBeCloseTo(goldenMeta("tiny-naflex").logit_scale, 6);
    expect(m.logitBias).toBeCloseTo(goldenMeta("tiny-naflex").logit_bias, 6);
    expect(m.preprocessing).toMatchObject({ kind: "naflex", patchSize: 4, maxNumPatches: 256, resample: "bilinear" });
    expect(m.positionGrid).toEqual({ file: "position_grid.bin", side: 16, dim: 64 });
    expect(m.tokenTable).toMatchObject({ rows: 1000, dim: 64, dtype: "float32" });
    expect(m.files.find((f) => f.path === "token_table.bin")?.bytes).toBe(1000 * 64 * 4);
  });

  it("refuses a truncated, a modified or a missing file, naming it", async () => {
    const src = await bundle("tiny-fixres");
    const dir = await mkdtemp(join(tmpdir(), "siglip-bundle-"));
    await cp(src, dir, { recursive: true });
    await expect(loadManifest(dir)).resolves.toMatchObject({ tokenTable: { rows: 1000, dim: 64 } });
    const data = join(dir, "vision.onnx.data");
    const orig = await readFile(data);
    const flipped = Buffer.from(orig);
    flipped[1000] = (flipped[1000] as number) ^ 0x80;
    await writeFile(data, flipped);
    const e1 = await loadManifest(dir).catch((e: unknown) => e);
    expect(hasErrorCode(e1, "INTEGRITY_MISMATCH") && (e1 as Error).message).toContain("vision.onnx.data has sha256");
    await expect(loadManifest(dir, { hashes: false })).resolves.toMatchObject({ tokenTable: { rows: 1000, dim: 64 } }); // sizes-only mode cannot see it
    await writeFile(data, orig.subarray(0, orig.length - 1));
    const e2 = await loadManifest(dir, { hashes: false }).catch((e: unknown) => e);
    expect(hasErrorCode(e2, "INTEGRITY_MISMATCH") && (e2 as Error).message).toContain("vision.onnx.data has");
    await rm(join(dir, "token_table.bin"));
    await writeFile(data, orig);
    expect(hasErrorCode(await loadManifest(dir).catch((e: unknown) => e), "NOT_FOUND")).toBe(true);
    await rm(dir, { recursive: true });
  });
});
