import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHECKPOINTS, countParameters, hasErrorCode, TOWER_SHAPES, type CheckpointInfo } from "@siglip-edge/core";
import { parseModelConfig } from "../src/config.ts";
import { expectedTensorShapes } from "../src/tensor-names.ts";
import { GOLDENS } from "./fixtures.ts";

const cfg = (name: string): unknown => JSON.parse(readFileSync(join(GOLDENS, "configs", `${name}.json`), "utf8"));

/** A Hub-style config: only the fields that differ from the transformers class defaults (B/16 at 224, vocab 32000). */
function hubStyle(c: CheckpointInfo): unknown {
  const tower = (t: { hiddenSize: number; intermediateSize: number; numLayers: number; numHeads: number }): Record<string, number> => {
    const out: Record<string, number> = {};
    if (t.hiddenSize !== 768) out["hidden_size"] = t.hiddenSize;
    if (t.intermediateSize !== 3072) out["intermediate_size"] = t.intermediateSize;
    if (t.numLayers !== 12) out["num_hidden_layers"] = t.numLayers;
    if (t.numHeads !== 12) out["num_attention_heads"] = t.numHeads;
    return out;
  };
  const text: Record<string, number> = { ...tower(c.text), vocab_size: c.text.vocabSize };
  if (c.text.projectionSize !== c.text.hiddenSize) text["projection_size"] = c.text.projectionSize;
  const vision: Record<string, number> = tower(c.vision);
  if (c.patchSize !== 16) vision["patch_size"] = c.patchSize;
  if (c.imageSize !== null && c.imageSize !== 224) vision["image_size"] = c.imageSize;
  return { model_type: c.modelType, text_config: text, vision_config: vision };
}

describe("config.json", () => {
  it("resolves every released checkpoint from a Hub-style minimal config to the registry shapes and parameter counts", () => {
    for (const c of CHECKPOINTS) {
      const m = parseModelConfig(hubStyle(c));
      expect(m.family).toBe(c.family);
      expect(m.vision.numPositions).toBe(c.numPositions);
      expect(m.text.projectionSize).toBe(c.embedDim);
      let n = 0;
      for (const s of expectedTensorShapes(m).values()) n += s.reduce((a, b) => a * b, 1);
      expect(n, c.id).toBe(countParameters(c).total);
    }
    console.log(`[export config] ${CHECKPOINTS.length} released checkpoints resolve to the registry's tensor shapes and parameter counts`);
  });

  it("applies the class defaults to the minimal Hub config of google/siglip2-base-patch16-512", () => {
    const m = parseModelConfig(cfg("hub-minimal-siglip2-base-patch16-512"));
    expect(m.vision).toMatchObject({ ...TOWER_SHAPES.B, imageSize: 512, patchSize: 16, numPositions: 1024, layerNormEps: 1e-6 });
    expect(m.text).toMatchObject({ vocabSize: 256000, maxPositions: 64, projectionSize: 768 });
  });

  it("reads the transformers 4.x layout (torch_dtype, generic fields, projection_size null) like the 5.x one", () => {
    const m = parseModelConfig(cfg("tf4-siglip-so400m-patch14-384"));
    expect(m.vision).toMatchObject({ hiddenSize: 1152, numLayers: 27, patchSize: 14, imageSize: 384, numPositions: 27 * 27 });
    expect(m.text.projectionSize).toBe(1152);
  });

  it("rejects unknown model types and inconsistent configs with typed errors", () => {
    const bad = (v: unknown): unknown => {
      try {
        parseModelConfig(v);
      } catch (e) {
        return e;
      }
      return null;
    };
    expect(hasErrorCode(bad({ model_type: "clip" }), "UNKNOWN_MODEL_TYPE")).toBe(true);
    expect(hasErrorCode(bad({ model_type: "siglip", vision_config: { hidden_act: "gelu" } }), "CHECKPOINT_INVALID")).toBe(true);
    expect(hasErrorCode(bad({ model_type: "siglip2", vision_config: { num_patches: 200 } }), "CHECKPOINT_INVALID")).toBe(true);
    expect(hasErrorCode(bad({ model_type: "siglip", text_config: { projection_size: 512 } }), "CHECKPOINT_INVALID")).toBe(true);
  });
});
