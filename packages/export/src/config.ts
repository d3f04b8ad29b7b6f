/**
 * `config.json` of a Hugging Face SigLIP / SigLIP 2 checkpoint, resolved to complete tower shapes.
 *
 * Hub configs omit every field that takes the transformers default (google/siglip2-base-patch16-512 holds little more
 * than `model_type`, `text_config.vocab_size` and `vision_config.image_size`), so every field gets the default of the
 * transformers config class. Two saved layouts are accepted:
 * - transformers 5.x: `dtype`, sub-configs under `text_config` / `vision_config` holding only non-generic fields;
 * - transformers 4.x: `torch_dtype`, sub-configs carrying every `PretrainedConfig` field (`return_dict`,
 *   `architectures`, `projection_size: null`, ...). Both resolve identically; generic fields are ignored.
 * @module
 */
import { SiglipError, type Family, type TextConfig, type TowerConfig, type VisionConfig } from "@siglip-edge/core";

/** The tower shapes are part of the bundle contract (packages/core manifest.ts: the manifest's `sizes`). */
export type { TowerConfig, TextConfig, VisionConfig } from "@siglip-edge/core";
export type ModelFamily = Family;

export interface ModelConfig {
  modelType: "siglip" | "siglip2";
  family: ModelFamily;
  text: TextConfig;
  vision: VisionConfig;
}

type Json = Record<string, unknown>;

/** Only the tanh GELU is supported: both names map to `F.gelu(approximate="tanh")` in transformers. */
const TANH_GELU = new Set(["gelu_pytorch_tanh", "gelu_new", "gelu_fast"]);

function obj(v: unknown, what: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new SiglipError("CHECKPOINT_INVALID", `config.json: ${what} must be an object`);
  }
  return v as Json;
}

function int(c: Json, key: string, dflt: number, where: string): number {
  const v = c[key] ?? dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new SiglipError("CHECKPOINT_INVALID", `config.json: ${where}.${key} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function num(c: Json, key: string, dflt: number, where: string): number {
  const v = c[key] ?? dflt;
  if (typeof v !== "number" || !(v > 0)) {
    throw new SiglipError("CHECKPOINT_INVALID", `config.json: ${where}.${key} must be a positive number`);
  }
  return v;
}

function tower(c: Json, where: string): TowerConfig {
  const act = c["hidden_act"] ?? "gelu_pytorch_tanh";
  if (typeof act !== "string" || !TANH_GELU.has(act)) {
    throw new SiglipError("CHECKPOINT_INVALID", `config.json: ${where}.hidden_act ${JSON.stringify(act)} is not the tanh GELU`);
  }
  const t: TowerConfig = {
    hiddenSize: int(c, "hidden_size", 768, where),
    intermediateSize: int(c, "intermediate_size", 3072, where),
    numLayers: int(c, "num_hidden_layers", 12, where),
    numHeads: int(c, "num_attention_heads", 12, where),
    layerNormEps: num(c, "layer_norm_eps", 1e-6, where),
  };
  if (t.hiddenSize % t.numHeads !== 0) {
    throw new SiglipError("CHECKPOINT_INVALID", `config.json: ${where}.hidden_size ${t.hiddenSize} is not divisible by ${t.numHeads} heads`);
  }
  return t;
}

/**
 * Resolves a parsed `config.json` (either transformers layout) to complete shapes, applying the class defaults of
 * `SiglipConfig` / `Siglip2Config` (transformers 5.18.0; identical in 4.57.6).
 * Throws `UNKNOWN_MODEL_TYPE` for anything other than `siglip` / `siglip2`.
 */
export function parseModelConfig(json: unknown): ModelConfig {
  const root = obj(json, "the root");
  const modelType = root["model_type"];
  if (modelType !== "siglip" && modelType !== "siglip2") {
    throw new SiglipError("UNKNOWN_MODEL_TYPE", `config.json: model_type ${JSON.stringify(modelType)} is not siglip or siglip2`, {
      details: { modelType },
    });
  }
  const tc = obj(root["text_config"], "text_config");
  const vc = obj(root["vision_config"], "vision_config");
  const textTower = tower(tc, "text_config");
  const text: TextConfig = {
    ...textTower,
    vocabSize: int(tc, "vocab_size", 32000, "text_config"),
    maxPositions: int(tc, "max_position_embeddings", 64, "text_config"),
    // `projection_size=None` means "same as hidden_size" in the config class.
    projectionSize: int(tc, "projection_size", textTower.hiddenSize, "text_config"),
  };
  const visionTower = tower(vc, "vision_config");
  const patchSize = int(vc, "patch_size", 16, "vision_config");
  const numChannels = int(vc, "num_channels", 3, "vision_config");
  let vision: VisionConfig;
  if (modelType === "siglip") {
    const imageSize = int(vc, "image_size", 224, "vision_config");
    const side = Math.floor(imageSize / patchSize); // VALID conv drops leftover pixels (So400m/14 at 384)
    vision = { ...visionTower, numChannels, patchSize, imageSize, numPositions: side * side };
  } else {
    const numPositions = int(vc, "num_patches", 256, "vision_config");
    const G = Math.round(Math.sqrt(numPositions));
    if (G * G !== numPositions) {
      throw new SiglipError("CHECKPOINT_INVALID", `config.json: vision_config.num_patches ${numPositions} is not a square grid`);
    }
    vision = { ...visionTower, numChannels, patchSize, imageSize: null, numPositions };
  }
  if (text.projectionSize !== vision.hiddenSize) {
    throw new SiglipError(
      "CHECKPOINT_INVALID",
      `config.json: text projection_size ${text.projectionSize} differs from the image embedding width ${vision.hiddenSize}`,
    );
  }
  return { modelType, family: modelType === "siglip" ? "fixres" : "naflex", text, vision };
}

/** Side of the learned NaFlex position grid (16 for every released checkpoint). */
export function positionGridSide(v: VisionConfig): number {
  return Math.round(Math.sqrt(v.numPositions));
}

/** Writes a config in the transformers 5.x layout (every field explicit), as `save_pretrained` does. */
export function toHfConfigJson(c: ModelConfig): Json {
  const towerJson = (t: TowerConfig): Json => ({
    hidden_act: "gelu_pytorch_tanh",
    hidden_size: t.hiddenSize,
    intermediate_size: t.intermediateSize,
    layer_norm_eps: t.layerNormEps,
    num_attention_heads: t.numHeads,
    num_hidden_layers: t.numLayers,
  });
  const vision: Json = {
    ...towerJson(c.vision),
    model_type: c.modelType === "siglip" ? "siglip_vision_model" : "siglip2_vision_model",
    num_channels: c.vision.numChannels,
    patch_size: c.vision.patchSize,
  };
  if (c.vision.imageSize !== null) vision["image_size"] = c.vision.imageSize;
  else vision["num_patches"] = c.vision.numPositions;
  return {
    architectures: [c.modelType === "siglip" ? "SiglipModel" : "Siglip2Model"],
    dtype: "float32",
    model_type: c.modelType,
    text_config: {
      ...towerJson(c.text),
      max_position_embeddings: c.text.maxPositions,
      model_type: c.modelType === "siglip" ? "siglip_text_model" : "siglip2_text_model",
      projection_size: c.text.projectionSize,
      vocab_size: c.text.vocabSize,
    },
    transformers_version: "5.18.0",
    vision_config: vision,
  };
}
