/**
 * The Hugging Face parameter names and shapes of `SiglipModel` / `Siglip2Model` (identical in transformers 4.x and
 * 5.x), derived from a resolved config. PyTorch layout: Linear weights are `[out, in]`.
 * @module
 */
import type { ModelConfig, TowerConfig } from "./config.ts";

function layerShapes(prefix: string, t: TowerConfig, out: Map<string, number[]>): void {
  const D = t.hiddenSize;
  const M = t.intermediateSize;
  for (let i = 0; i < t.numLayers; i++) {
    const p = `${prefix}.encoder.layers.${i}`;
    out.set(`${p}.layer_norm1.weight`, [D]);
    out.set(`${p}.layer_norm1.bias`, [D]);
    for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      out.set(`${p}.self_attn.${proj}.weight`, [D, D]);
      out.set(`${p}.self_attn.${proj}.bias`, [D]);
    }
    out.set(`${p}.layer_norm2.weight`, [D]);
    out.set(`${p}.layer_norm2.bias`, [D]);
    out.set(`${p}.mlp.fc1.weight`, [M, D]);
    out.set(`${p}.mlp.fc1.bias`, [M]);
    out.set(`${p}.mlp.fc2.weight`, [D, M]);
    out.set(`${p}.mlp.fc2.bias`, [D]);
  }
}

/** Every tensor name with its expected shape, in checkpoint order. */
export function expectedTensorShapes(c: ModelConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  out.set("logit_scale", [1]);
  out.set("logit_bias", [1]);
  const t = c.text;
  out.set("text_model.embeddings.token_embedding.weight", [t.vocabSize, t.hiddenSize]);
  out.set("text_model.embeddings.position_embedding.weight", [t.maxPositions, t.hiddenSize]);
  layerShapes("text_model", t, out);
  out.set("text_model.final_layer_norm.weight", [t.hiddenSize]);
  out.set("text_model.final_layer_norm.bias", [t.hiddenSize]);
  out.set("text_model.head.weight", [t.projectionSize, t.hiddenSize]);
  out.set("text_model.head.bias", [t.projectionSize]);
  const v = c.vision;
  const D = v.hiddenSize;
  const P = v.patchSize;
  out.set(
    "vision_model.embeddings.patch_embedding.weight",
    c.family === "fixres" ? [D, v.numChannels, P, P] : [D, v.numChannels * P * P],
  );
  out.set("vision_model.embeddings.patch_embedding.bias", [D]);
  out.set("vision_model.embeddings.position_embedding.weight", [v.numPositions, D]);
  layerShapes("vision_model", v, out);
  out.set("vision_model.post_layernorm.weight", [D]);
  out.set("vision_model.post_layernorm.bias", [D]);
  out.set("vision_model.head.probe", [1, 1, D]);
  out.set("vision_model.head.attention.in_proj_weight", [3 * D, D]);
  out.set("vision_model.head.attention.in_proj_bias", [3 * D]);
  out.set("vision_model.head.attention.out_proj.weight", [D, D]);
  out.set("vision_model.head.attention.out_proj.bias", [D]);
  out.set("vision_model.head.layernorm.weight", [D]);
  out.set("vision_model.head.layernorm.bias", [D]);
  out.set("vision_model.head.mlp.fc1.weight", [v.intermediateSize, D]);
  out.set("vision_model.head.mlp.fc1.bias", [v.intermediateSize]);
  out.set("vision_model.head.mlp.fc2.weight", [D, v.intermediateSize]);
  out.set("vision_model.head.mlp.fc2.bias", [D]);
  return out;
}
