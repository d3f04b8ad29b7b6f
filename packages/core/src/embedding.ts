/**
 * Embedding maths as Hugging Face computes it (siglip2-spec §5): L2 normalisation without epsilon, cosine,
 * and sigmoid logits `cos * exp(logit_scale) + logit_bias`. Accumulation is in float64; results are float32.
 * @module
 */
import { SiglipError } from "./errors.ts";
import { tensor, type Tensor } from "./tensor.ts";

function dotF64(a: ArrayLike<number>, b: ArrayLike<number>, offA = 0, offB = 0, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[offA + i] as number) * (b[offB + i] as number);
  return s;
}

/** L2 norm of a vector, accumulated in float64. */
export function l2Norm(v: ArrayLike<number>): number {
  return Math.sqrt(dotF64(v, v));
}

/**
 * Returns `v / ||v||` as a new Float32Array. HF divides without an epsilon; a zero vector cannot be normalised and
 * raises `INVALID_ARGUMENT` instead of producing NaNs.
 */
export function l2Normalize(v: ArrayLike<number>): Float32Array {
  const n = l2Norm(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new SiglipError("INVALID_ARGUMENT", `cannot L2-normalise a vector with norm ${n}`);
  }
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) / n;
  return out;
}

/** Normalises each row of a [B, D] float32 tensor. */
export function l2NormalizeRows(t: Tensor<"float32">): Tensor<"float32"> {
  const [B, D] = t.dims as [number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++) out.set(l2Normalize(t.data.subarray(b * D, (b + 1) * D)), b * D);
  return tensor("float32", [B, D], out);
}

/** Cosine similarity of two equal-length vectors (float64 accumulation). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new SiglipError("SHAPE_MISMATCH", `cosine of vectors of length ${a.length} and ${b.length}`);
  }
  const na = l2Norm(a);
  const nb = l2Norm(b);
  if (na === 0 || nb === 0) return 0;
  return dotF64(a, b) / (na * nb);
}

/** Largest absolute element-wise difference of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new SiglipError("SHAPE_MISMATCH", `lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Logit scale and bias as stored in the checkpoint: `logit_scale` is a log temperature. */
export interface LogitParams {
  logitScale: number;
  logitBias: number;
}

/**
 * SigLIP logits for normalised embeddings: `logits_per_image[i, t] = cos(img_i, txt_t) * exp(scale) + bias`.
 * @param images [I, D] float32, L2-normalised
 * @param texts [T, D] float32, L2-normalised
 * @returns [I, T] float32
 */
export function siglipLogits(images: Tensor<"float32">, texts: Tensor<"float32">, p: LogitParams): Tensor<"float32"> {
  const [I, D] = images.dims as [number, number];
  const [T, D2] = texts.dims as [number, number];
  if (D !== D2) throw new SiglipError("SHAPE_MISMATCH", `image width ${D} differs from text width ${D2}`);
  const scale = Math.exp(p.logitScale);
  const out = new Float32Array(I * T);
  for (let i = 0; i < I; i++) {
    for (let t = 0; t < T; t++) {
      out[i * T + t] = dotF64(images.data, texts.data, i * D, t * D, D) * scale + p.logitBias;
    }
  }
  return tensor("float32", [I, T], out); // [I, D] x [T, D]^T -> [I, T]
}

/** Logistic sigmoid, stable for large |x|. SigLIP scores are independent per pair, not a softmax. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Prompt ensembling (big_vision discriminative_classifier): average the L2-normalised embeddings of one label's
 * prompts, then re-normalise.
 */
export function meanNormalized(vectors: readonly ArrayLike<number>[]): Float32Array {
  const first = vectors[0];
  if (first === undefined) throw new SiglipError("INVALID_ARGUMENT", "meanNormalized needs at least one vector");
  const acc = new Float64Array(first.length);
  for (const v of vectors) {
    const n = l2Normalize(v);
    if (n.length !== acc.length) throw new SiglipError("SHAPE_MISMATCH", "vectors differ in length");
    for (let i = 0; i < n.length; i++) acc[i] = (acc[i] as number) + (n[i] as number);
  }
  return l2Normalize(acc);
}
