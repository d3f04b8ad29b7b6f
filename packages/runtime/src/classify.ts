/**
 * Zero-shot classification as SigLIP scores it (siglip2-spec §5, §11): each label's prompts are embedded, the
 * normalised prompt embeddings averaged and re-normalised (prompt ensembling), and every image-label pair scored
 * independently with `sigmoid(cos * exp(logit_scale) + logit_bias)`. Label embeddings are cached by model revision,
 * template set, lowercasing and label, because the same label sets come back request after request.
 * @module
 */
import { l2Normalize, meanNormalized, sha256Hex, SiglipError, sigmoid } from "@siglip-edge/core";
import type { LowercaseMode, SiglipPipeline } from "./pipeline.ts";

/** A cache of label embeddings (isolate memory, the Cache API, KV, ...). Values are normalised [D] float32. */
export interface EmbeddingCache {
  get(key: string): Promise<Float32Array | undefined>;
  put(key: string, value: Float32Array): Promise<void>;
}

/** The HF Python pipeline's template (siglip2-spec §11; with the full stop, which transformers.js drops). */
export const DEFAULT_TEMPLATE = "This is a photo of {}.";

export interface ClassifyOptions {
  templates?: readonly string[];
  lowercase?: LowercaseMode;
  cache?: EmbeddingCache;
}

export interface LabelScore {
  label: string;
  score: number;
}

/** Fills `{}` in a template with the label (every occurrence). */
export function fillTemplate(template: string, label: string): string {
  if (!template.includes("{}")) throw new SiglipError("INVALID_ARGUMENT", `template "${template}" has no {} placeholder`);
  return template.split("{}").join(label);
}

/** Cache key of one label's ensembled embedding: revision + templates + lowercasing + label, hashed. */
export async function labelCacheKey(revision: string, templates: readonly string[], lowercase: string, label: string): Promise<string> {
  return `label:${await sha256Hex(JSON.stringify([revision, templates, lowercase, label]))}`;
}

/**
 * Normalised, prompt-ensembled text embeddings for labels, using the cache where it has them.
 * @returns one [D] float32 unit vector per label
 */
export async function labelEmbeddings(
  pipeline: SiglipPipeline,
  labels: readonly string[],
  options: ClassifyOptions = {},
): Promise<Float32Array[]> {
  const templates = options.templates ?? [DEFAULT_TEMPLATE];
  const lowercase = options.lowercase;
  const keys = await Promise.all(labels.map((l) => labelCacheKey(pipeline.card.revision, templates, lowercase ?? "default", l)));
  const found = await Promise.all(keys.map((k) => options.cache?.get(k) ?? Promise.resolve(undefined)));
  const missing = labels.flatMap((label, i) => (found[i] === undefined ? [{ label, i }] : []));
  if (missing.length > 0) {
    const prompts = missing.flatMap(({ label }) => templates.map((t) => fillTemplate(t, label)));
    const { embeddings } = await pipeline.embedTexts(prompts, lowercase === undefined ? {} : { lowercase });
    for (let m = 0; m < missing.length; m++) {
      const { i } = missing[m] as { i: number };
      const own = embeddings.slice(m * templates.length, (m + 1) * templates.length); // this label's prompts
      const v = own.length === 1 ? l2Normalize(own[0] as Float32Array) : meanNormalized(own);
      found[i] = v;
      await options.cache?.put(keys[i] as string, v);
    }
  }
  return found as Float32Array[];
}

/**
 * Scores every image against every label.
 * @param imageEmbeddings raw [D] float32 per image
 * @returns per image, labels sorted by descending sigmoid score
 */
export async function classifyImages(
  pipeline: SiglipPipeline,
  imageEmbeddings: readonly Float32Array[],
  labels: readonly string[],
  options: ClassifyOptions = {},
): Promise<LabelScore[][]> {
  const text = await labelEmbeddings(pipeline, labels, options);
  const scale = Math.exp(pipeline.logit.logitScale);
  return imageEmbeddings.map((raw) => {
    const img = l2Normalize(raw);
    const scores = labels.map((label, t) => {
      const txt = text[t] as Float32Array;
      let dot = 0;
      for (let d = 0; d < img.length; d++) dot += (img[d] as number) * (txt[d] as number);
      return { label, score: sigmoid(dot * scale + pipeline.logit.logitBias) };
    });
    return scores.sort((a, b) => b.score - a.score);
  });
}
