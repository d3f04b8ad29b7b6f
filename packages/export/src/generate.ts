/**
 * Deterministic random-weight checkpoints in the Hugging Face layout (config.json + model.safetensors), for tests and
 * goldens. No real weights can be downloaded here, so the loaders are exercised on random checkpoints of the exact
 * architecture. Weights are scaled so activations stay O(1) through every layer (Linear ~ U(-a, a) with
 * a = sqrt(3 / fan_in) * gain, LayerNorm gammas around 1): with PyTorch's tiny default init, real differences would
 * hide under vanishing activations. Optionally with planted activation-outlier channels (`GenerateOptions.outliers`).
 * @module
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mulberry32, SiglipError } from "@siglip-edge/core";
import { parseModelConfig, toHfConfigJson, type ModelConfig, type TowerConfig } from "./config.ts";
import { writeSafetensors, type StDType } from "./safetensors.ts";
import { expectedTensorShapes } from "./tensor-names.ts";

// g-opt-like pairing: text tower narrower than vision, head 64 -> 96; head_dim 24 (inexact scale, like So400m).
const TINY_FIXRES = {
  model_type: "siglip",
  text_config: { vocab_size: 1000, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, projection_size: 96 },
  vision_config: { image_size: 48, patch_size: 8, hidden_size: 96, intermediate_size: 160, num_hidden_layers: 2, num_attention_heads: 4 },
};
// NaFlex keeps the released 16 x 16 position grid so small images downsample it (antialias matters).
const TINY_NAFLEX = {
  model_type: "siglip2",
  text_config: { vocab_size: 1000, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 },
  vision_config: { num_patches: 256, patch_size: 4, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 },
};

/** The same shapes with the real Gemma vocabulary (256000 rows): every id of the real tokenizer has its own row. */
function gemmaVocab<T extends { text_config: object }>(preset: T): T {
  return { ...preset, text_config: { ...preset.text_config, vocab_size: 256000 } };
}

/**
 * Presets: tiny ones for tests (a few MB); their 256k-vocabulary twins, the offline `--model tiny` models (tiny.ts;
 * a 256000 x 64 token table, 65.5 MB in fp32); `b16-*` with the real B/16 shapes (256000 x 768 token table).
 */
export const PRESETS: Readonly<Record<string, unknown>> = {
  "tiny-fixres": TINY_FIXRES,
  "tiny-naflex": TINY_NAFLEX,
  "tiny-fixres-256k": gemmaVocab(TINY_FIXRES),
  "tiny-naflex-256k": gemmaVocab(TINY_NAFLEX),
  "b16-fixres": { model_type: "siglip", text_config: { vocab_size: 256000 }, vision_config: { image_size: 224 } },
  "b16-naflex": { model_type: "siglip2", text_config: { vocab_size: 256000 }, vision_config: { num_patches: 256 } },
};

/** q/k projections get a larger gain so attention is clearly non-uniform (score std ~2) without being one-hot. */
const QK_GAIN = 1.5;

export { mulberry32 } from "@siglip-edge/core";

/** FNV-1a of a tensor name, mixed with the seed: each tensor gets its own stream, independent of write order. */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The value distribution of one tensor, chosen by its role. */
function fill(name: string, shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const rnd = mulberry32(tensorSeed(seed, name));
  const out = new Float32Array(n);
  const uni = (lo: number, hi: number): void => {
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rnd();
  };
  if (name === "logit_scale") out[0] = Math.log(10) + 0.5 * rnd(); // exp(t) ~ 10-16
  else if (name === "logit_bias") out[0] = -2 + rnd();
  else if (/(layer_?norm\d?|final_layer_norm|post_layernorm)\.weight$/.test(name)) uni(0.6, 1.4);
  else if (name.endsWith(".bias")) uni(-0.2, 0.2);
  else if (name.endsWith("in_proj_bias")) uni(-0.2, 0.2);
  else if (/embedding\.weight$/.test(name) && !name.includes("patch_embedding")) uni(-1.5, 1.5);
  else if (name.endsWith("head.probe")) uni(-1.5, 1.5);
  else {
    // Linear / conv weights [out, in, ...]: fan_in = product of the trailing dims. q/k get QK_GAIN.
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const gain = /(q_proj|k_proj|in_proj_weight)/.test(name) ? QK_GAIN : 1.2;
    const a = Math.sqrt(3 / fanIn) * gain;
    uni(-a, a);
  }
  return out;
}

/**
 * Planted activation-outlier channels (issue 15): real ViTs and text transformers carry a few activation channels tens
 * of times larger than the rest, random weights have none. For `channels` channels j of every LayerNorm that feeds a
 * linear layer directly, the LayerNorm's weight[j] and bias[j] are multiplied by `gain` and the input columns j of the
 * linear layers it feeds are divided by it (PyTorch layout [out, in]: W[:, j] /= gain). The LayerNorm output then
 * carries channels `gain` times larger, while the fp32 function (pooler outputs, logits) is unchanged up to rounding.
 */
export interface OutlierOptions {
  /** Channels planted per LayerNorm (distinct, chosen by the seed per LayerNorm). */
  channels: number;
  /** Factor on the LayerNorm's weight and bias at those channels (and the divisor of the matching weight columns). */
  gain: number;
}

/** Default planting: 3 channels per LayerNorm at gain 30. */
export const DEFAULT_OUTLIERS: Readonly<OutlierOptions> = { channels: 3, gain: 30 };

/** One LayerNorm with planted channels, and the linear layers reading its output. */
export interface OutlierSite {
  /** Parameter prefix of the LayerNorm, e.g. `vision_model.encoder.layers.0.layer_norm1`. */
  layerNorm: string;
  /** Planted channel indices, ascending. */
  channels: number[];
  gain: number;
  /**
   * Linear weights whose input columns are divided by `gain`, with the output rows affected: [first, end). All rows
   * except for the MAP head's packed `in_proj_weight`, whose query rows [0, D) read the probe, not the LayerNorm.
   */
  linears: { weight: string; rows: [number, number] }[];
}

/**
 * Where outliers go for a config: every pre-attention LayerNorm (q, k, v projections follow), every pre-MLP
 * LayerNorm (fc1), the text tower's final LayerNorm (the pooling head Linear), the vision `post_layernorm` (key and
 * value rows of the MAP head's packed in_proj) and the MAP head's LayerNorm (its fc1).
 */
export function outlierSites(config: ModelConfig, seed: number, opts: OutlierOptions = DEFAULT_OUTLIERS): OutlierSite[] {
  const { channels: count, gain } = opts;
  const D0 = Math.min(config.text.hiddenSize, config.vision.hiddenSize);
  if (!Number.isInteger(count) || count < 1 || count > D0) {
    throw new SiglipError("INVALID_ARGUMENT", `outlier channels must be an integer in 1..${D0}, got ${count}`);
  }
  if (!Number.isFinite(gain) || gain <= 0) throw new SiglipError("INVALID_ARGUMENT", `outlier gain must be a positive number, got ${gain}`);
  const sites: OutlierSite[] = [];
  const site = (layerNorm: string, D: number, linears: { weight: string; rows: [number, number] }[]): void => {
    // A stream of its own per LayerNorm (and apart from the weight streams): partial Fisher-Yates over 0..D-1.
    const rnd = mulberry32(tensorSeed(seed, `${layerNorm}#outliers`));
    const idx = Array.from({ length: D }, (_, i) => i);
    for (let i = 0; i < count; i++) {
      const k = i + Math.floor(rnd() * (D - i));
      [idx[i], idx[k]] = [idx[k] as number, idx[i] as number];
    }
    sites.push({ layerNorm, channels: idx.slice(0, count).sort((a, b) => a - b), gain, linears });
  };
  const layers = (prefix: string, t: TowerConfig): void => {
    const D = t.hiddenSize;
    const M = t.intermediateSize;
    for (let i = 0; i < t.numLayers; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      site(`${p}.layer_norm1`, D, ["q_proj", "k_proj", "v_proj"].map((x) => ({ weight: `${p}.self_attn.${x}.weight`, rows: [0, D] })));
      site(`${p}.layer_norm2`, D, [{ weight: `${p}.mlp.fc1.weight`, rows: [0, M] }]);
    }
  };
  layers("text_model", config.text);
  site("text_model.final_layer_norm", config.text.hiddenSize, [{ weight: "text_model.head.weight", rows: [0, config.text.projectionSize] }]);
  layers("vision_model", config.vision);
  const D = config.vision.hiddenSize;
  site("vision_model.post_layernorm", D, [{ weight: "vision_model.head.attention.in_proj_weight", rows: [D, 3 * D] }]);
  site("vision_model.head.layernorm", D, [{ weight: "vision_model.head.mlp.fc1.weight", rows: [0, config.vision.intermediateSize] }]);
  return sites;
}

/** Applies the planting to one freshly filled tensor (in place), if the tensor belongs to a site. */
function planter(sites: readonly OutlierSite[]): (name: string, shape: number[], data: Float32Array) => void {
  const byName = new Map<string, (data: Float32Array, shape: number[]) => void>();
  for (const s of sites) {
    const scale = (data: Float32Array): void => {
      for (const j of s.channels) data[j] = (data[j] as number) * s.gain;
    };
    byName.set(`${s.layerNorm}.weight`, scale);
    byName.set(`${s.layerNorm}.bias`, scale);
    for (const l of s.linears) {
      byName.set(l.weight, (data, shape) => {
        const cols = shape[1] as number;
        for (let r = l.rows[0]; r < l.rows[1]; r++) for (const j of s.channels) data[r * cols + j] = (data[r * cols + j] as number) / s.gain;
      });
    }
  }
  return (name, shape, data) => byName.get(name)?.(data, shape);
}

export interface GenerateOptions {
  seed?: number;
  dtype?: StDType;
  /** Split the tensors over this many shards with a model.safetensors.index.json. */
  shards?: number;
  /**
   * Plant activation-outlier channels (see `OutlierOptions`); every other tensor is identical to the ordinary
   * checkpoint of the same seed. The sites are also written to `outliers.json` next to the weights.
   */
  outliers?: OutlierOptions;
}

/**
 * Writes `config.json` and the weights of a random checkpoint into `dir`, streaming one tensor at a time.
 * @returns the resolved config
 */
export async function generateCheckpoint(dir: string, presetOrConfig: string | unknown, opts: GenerateOptions = {}): Promise<ModelConfig> {
  const raw = typeof presetOrConfig === "string" ? PRESETS[presetOrConfig] : presetOrConfig;
  if (raw === undefined) throw new SiglipError("INVALID_ARGUMENT", `unknown preset ${String(presetOrConfig)}`);
  const config = parseModelConfig(raw);
  const seed = opts.seed ?? 0;
  const sites = opts.outliers === undefined ? [] : outlierSites(config, seed, opts.outliers); // validates first
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), JSON.stringify(toHfConfigJson(config), null, 2) + "\n");
  const specs = [...expectedTensorShapes(config)].map(([name, shape]) => ({ name, shape }));
  if (opts.outliers !== undefined) {
    await writeFile(join(dir, "outliers.json"), JSON.stringify({ seed, ...opts.outliers, sites }, null, 1) + "\n");
  } else await rm(join(dir, "outliers.json"), { force: true });
  const plant = planter(sites);
  const produce = (s: { name: string; shape: number[] }): Float32Array => {
    const data = fill(s.name, s.shape, seed);
    plant(s.name, s.shape, data);
    return data;
  };
  const shards = opts.shards ?? 1;
  if (shards <= 1) {
    await writeSafetensors(join(dir, "model.safetensors"), specs, produce, opts.dtype ?? "F32");
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(specs.length / shards);
    for (let s = 0; s < shards; s++) {
      const part = specs.slice(s * per, (s + 1) * per);
      const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
      for (const p of part) weightMap[p.name] = file;
      await writeSafetensors(join(dir, file), part, produce, opts.dtype ?? "F32");
    }
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
  }
  return config;
}
