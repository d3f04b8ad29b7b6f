import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasErrorCode, isSiglipError } from "@siglip-edge/core";
import { openCheckpoint } from "../src/checkpoint.ts";
import { convertCheckpoint } from "../src/convert.ts";
import { generateCheckpoint } from "../src/generate.ts";
import { tensorsOf } from "./fixtures.ts";

const root = await mkdtemp(join(tmpdir(), "siglip-ckpt-test-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("safetensors checkpoints", () => {
  it("reads single-file, sharded, fp16 and bf16 checkpoints to the same tensors (within the dtype's rounding)", async () => {
    await generateCheckpoint(join(root, "f32"), "tiny-naflex", { seed: 7 });
    await generateCheckpoint(join(root, "sharded"), "tiny-naflex", { seed: 7, shards: 3 });
    await generateCheckpoint(join(root, "f16"), "tiny-naflex", { seed: 7, dtype: "F16" });
    await generateCheckpoint(join(root, "bf16"), "tiny-naflex", { seed: 7, dtype: "BF16" });
    const ref = await tensorsOf(join(root, "f32"));
    const sharded = await tensorsOf(join(root, "sharded"));
    expect([...sharded.keys()].sort()).toEqual([...ref.keys()].sort());
    for (const [k, v] of ref) expect(sharded.get(k)).toEqual(v);
    for (const [sub, relTol] of [["f16", 2 ** -11], ["bf16", 2 ** -8]] as const) {
      const t = await tensorsOf(join(root, sub));
      let worst = 0;
      for (const [k, v] of ref) {
        const w = t.get(k) as Float32Array;
        for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs((w[i] as number) - (v[i] as number)) / Math.max(Math.abs(v[i] as number), 1e-3));
      }
      expect(worst).toBeLessThanOrEqual(relTol);
      expect(worst).toBeGreaterThan(0);
    }
  });

  it("names the tensor whose shape disagrees with the config", async () => {
    const dir = join(root, "mismatch");
    await generateCheckpoint(dir, "tiny-naflex", { seed: 1 });
    const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as { vision_config: Record<string, number> };
    cfg.vision_config["intermediate_size"] = 96;
    await writeFile(join(dir, "config.json"), JSON.stringify(cfg));
    const err = await openCheckpoint(dir).catch((e: unknown) => e);
    expect(hasErrorCode(err, "SHAPE_MISMATCH")).toBe(true);
    expect(isSiglipError(err) && err.message).toContain("vision_model.encoder.layers.0.mlp.fc1.weight");
  });

  it("converts a checkpoint saved in the transformers 4.x config layout to the same graphs as the 5.x layout", async () => {
    const a = join(root, "tf5");
    await generateCheckpoint(a, "tiny-fixres", { seed: 2 });
    const b = join(root, "tf4");
    await generateCheckpoint(b, "tiny-fixres", { seed: 2 });
    // tf4 save_pretrained: torch_dtype, every PretrainedConfig field repeated in the sub-configs, projection_size kept.
    const cfg = JSON.parse(await readFile(join(b, "config.json"), "utf8")) as Record<string, Record<string, unknown> | unknown>;
    const generic = { return_dict: true, output_hidden_states: false, torchscript: false, torch_dtype: null, architectures: null, is_decoder: false, add_cross_attention: false, chunk_size_feed_forward: 0 };
    const tf4 = {
      ...cfg,
      torch_dtype: "float32",
      transformers_version: "4.57.6",
      text_config: { ...(cfg["text_config"] as object), ...generic, bos_token_id: 49406, eos_token_id: 49407, pad_token_id: 1 },
      vision_config: { ...(cfg["vision_config"] as object), ...generic },
    } as Record<string, unknown>;
    delete tf4["dtype"];
    await writeFile(join(b, "config.json"), JSON.stringify(tf4));
    const ma = await convertCheckpoint(a, join(root, "tf5-bundle"));
    const mb = await convertCheckpoint(b, join(root, "tf4-bundle"));
    const hashes = (m: typeof ma): Record<string, string> => Object.fromEntries(m.files.map((f) => [f.path, f.sha256]));
    expect(hashes(mb)).toEqual(hashes(ma));
    expect(mb.sizes).toEqual(ma.sizes);
  });

  it("rejects a truncated weights file and an unknown model type", async () => {
    const dir = join(root, "trunc");
    await generateCheckpoint(dir, "tiny-fixres", { seed: 1 });
    const bytes = await readFile(join(dir, "model.safetensors"));
    await writeFile(join(dir, "model.safetensors"), bytes.subarray(0, bytes.length - 100));
    expect(hasErrorCode(await openCheckpoint(dir).catch((e: unknown) => e), "CHECKPOINT_INVALID")).toBe(true);
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "clip" }));
    expect(hasErrorCode(await openCheckpoint(dir).catch((e: unknown) => e), "UNKNOWN_MODEL_TYPE")).toBe(true);
  });
});
