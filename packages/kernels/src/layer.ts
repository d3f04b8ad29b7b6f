/**
 * One SigLIP encoder layer (pre-LN, multi-head attention, residual, pre-LN, MLP with tanh-GELU, residual) on the
 * kernels: the four linears in W8A12 (int8 per-output-channel weights, activations quantised per token to 12 bits),
 * LayerNorm, softmax and attention in fp32. Weights come in the Hugging Face layout (Linear weight [out, in]).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { Kernels, PackedLinear } from "./kernels.ts";
import { quantizeLinear, type Int8Linear } from "./weights.ts";

export interface LinearWeights {
  /** [out, in] float32 (torch nn.Linear) */
  weight: Float32Array;
  /** [out] */
  bias: Float32Array;
}

export interface NormWeights {
  weight: Float32Array;
  bias: Float32Array;
}

/** A layer's fp32 weights and shape: D hidden, H heads, F MLP width. */
export interface EncoderLayerWeights {
  hidden: number;
  heads: number;
  intermediate: number;
  eps: number;
  layerNorm1: NormWeights;
  q: LinearWeights;
  k: LinearWeights;
  v: LinearWeights;
  out: LinearWeights;
  layerNorm2: NormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

export interface EncoderLayerOptions {
  /**
   * Fold each LayerNorm's gain and bias into the linear that follows it (W' = diag(gain) W, b' = b + bias W, in
   * float64 before quantising), so the kernel runs a plain normalise (default true). Off, the LayerNorm applies them
   * in fp32 and the quantiser sees their range.
   */
  foldLayerNorm?: boolean;
}

/** Stage names of `forward`'s optional timings (ms, accumulated). */
export const LAYER_STAGES = ["ln1+quantise", "qkv", "attention", "quantise", "out-proj", "ln2+quantise", "fc1+gelu", "quantise2", "fc2"] as const;
export type LayerTimings = Partial<Record<(typeof LAYER_STAGES)[number], number>>;

/** float64 fold of a LayerNorm into the following linear [out, in]: returns [out, in] weight and [out] bias. */
export function foldLayerNorm(norm: NormWeights, lin: LinearWeights): LinearWeights {
  const n = lin.bias.length;
  const k = norm.weight.length;
  if (lin.weight.length !== n * k) throw new SiglipError("SHAPE_MISMATCH", `linear weight has ${lin.weight.length} values, expected ${n} x ${k}`);
  const weight = new Float32Array(n * k);
  const bias = new Float32Array(n);
  for (let o = 0; o < n; o++) {
    let b = lin.bias[o] as number;
    for (let i = 0; i < k; i++) {
      const w = lin.weight[o * k + i] as number;
      weight[o * k + i] = w * (norm.weight[i] as number);
      b += w * (norm.bias[i] as number);
    }
    bias[o] = b;
  }
  return { weight, bias };
}

function concatRows(parts: LinearWeights[]): LinearWeights {
  const weight = new Float32Array(parts.reduce((s, p) => s + p.weight.length, 0));
  const bias = new Float32Array(parts.reduce((s, p) => s + p.bias.length, 0));
  let wo = 0;
  let bo = 0;
  for (const p of parts) {
    weight.set(p.weight, wo);
    bias.set(p.bias, bo);
    wo += p.weight.length;
    bo += p.bias.length;
  }
  return { weight, bias };
}

function int8(lin: LinearWeights, inF: number): Int8Linear {
  const outF = lin.bias.length;
  return quantizeLinear(lin.weight, inF, outF, "nk", lin.bias);
}

/** A layer's four linears, quantised: LayerNorms folded (or not), the attention scale in Q's columns. */
export interface LayerLinears {
  qkv: Int8Linear;
  out: Int8Linear;
  fc1: Int8Linear;
  fc2: Int8Linear;
}

/** The shape of a layer: D hidden, H heads, F MLP width, LayerNorm eps. */
export interface LayerDims {
  hidden: number;
  heads: number;
  intermediate: number;
  eps: number;
}

/** A layer whose packed linears already sit in the kernels' memory (a kernels file's block); LayerNorms folded. */
export interface PackedLayer extends LayerDims {
  qkv: PackedLinear;
  out: PackedLinear;
  fc1: PackedLinear;
  fc2: PackedLinear;
}

/** Checks D / H is a whole multiple of 8 (the attention kernel's register block). */
export function checkHeads(D: number, H: number): void {
  if (!Number.isInteger(D / H) || (D / H) % 8 !== 0) throw new SiglipError("SHAPE_MISMATCH", `hidden ${D} / heads ${H} must be a multiple of 8`);
}

/**
 * Quantises a layer's linears (what `EncoderLayer` loads and a kernels file stores): LayerNorm 1 folded into q|k|v
 * and LayerNorm 2 into fc1 in float64 when `foldLayerNorm` (default), then int8 per output channel; the attention
 * scale 1/sqrt(hd) multiplies Q's column scales and bias (f32) after quantising, so Q's integers are those of the
 * unscaled weights.
 */
export function quantizeLayer(w: EncoderLayerWeights, options: EncoderLayerOptions = {}): LayerLinears {
  const { hidden: D, heads: H, intermediate: F } = w;
  checkHeads(D, H);
  const fold = options.foldLayerNorm ?? true;
  const pre1 = (l: LinearWeights): LinearWeights => (fold ? foldLayerNorm(w.layerNorm1, l) : l);
  const qkv = int8(concatRows([pre1(w.q), pre1(w.k), pre1(w.v)]), D);
  scaleColumns(qkv, 0, D, 1 / Math.sqrt(D / H));
  return { qkv, out: int8(w.out, D), fc1: int8(fold ? foldLayerNorm(w.layerNorm2, w.fc1) : w.fc1, D), fc2: int8(w.fc2, F) };
}

/** softmax(Q K^T / sqrt(hd)): the scale goes into columns [c0, c1)'s scales and bias (f32 products). */
export function scaleColumns(lin: Int8Linear, c0: number, c1: number, s: number): void {
  for (let c = c0; c < c1; c++) {
    lin.scale[c] = (lin.scale[c] as number) * s;
    if (lin.bias !== undefined) lin.bias[c] = (lin.bias[c] as number) * s;
  }
}

export class EncoderLayer {
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  private readonly K: Kernels;
  private readonly eps: number;
  private readonly qkv: PackedLinear;
  private readonly out: PackedLinear;
  private readonly fc1: PackedLinear;
  private readonly fc2: PackedLinear;
  /** byte offsets of LayerNorm gains/biases when not folded (0 = plain normalise) */
  private readonly ln: { g1: number; b1: number; g2: number; b2: number };

  /**
   * From fp32 weights: quantises and packs them into the kernels' memory (once). From a `PackedLayer`: uses the
   * linears where they are (LayerNorms folded).
   */
  constructor(K: Kernels, w: EncoderLayerWeights | PackedLayer, options: EncoderLayerOptions = {}) {
    const { hidden: D, heads: H, intermediate: F } = w;
    checkHeads(D, H);
    this.K = K;
    this.hidden = D;
    this.heads = H;
    this.intermediate = F;
    this.eps = w.eps;
    if (!("layerNorm1" in w)) {
      ({ qkv: this.qkv, out: this.out, fc1: this.fc1, fc2: this.fc2 } = w);
      this.ln = { g1: 0, b1: 0, g2: 0, b2: 0 };
      return;
    }
    const fold = options.foldLayerNorm ?? true;
    const q = quantizeLayer(w, options);
    this.qkv = K.loadLinear(q.qkv);
    this.out = K.loadLinear(q.out);
    this.fc1 = K.loadLinear(q.fc1);
    this.fc2 = K.loadLinear(q.fc2);
    this.ln = fold
      ? { g1: 0, b1: 0, g2: 0, b2: 0 }
      : { g1: K.putF32(w.layerNorm1.weight), b1: K.putF32(w.layerNorm1.bias), g2: K.putF32(w.layerNorm2.weight), b2: K.putF32(w.layerNorm2.bias) };
  }

  /**
   * x [M, D] fp32 at byte offset `x`, updated in place; `timings` accumulates ms per stage if given; `keyBias`: byte
   * offset of M floats added to every attention score row (an additive key mask), 0 for none.
   */
  forward(x: number, m: number, timings?: LayerTimings, keyBias = 0): void {
    const { K, hidden: D, heads: H, intermediate: F } = this;
    const t = timings === undefined ? undefined : { at: performance.now() };
    const lap = (stage: (typeof LAYER_STAGES)[number]): void => {
      if (t === undefined || timings === undefined) return;
      const now = performance.now();
      timings[stage] = (timings[stage] ?? 0) + now - t.at;
      t.at = now;
    };
    const mark = K.arena.mark();
    const lnOpts = (g: number, b: number) => (g === 0 ? { eps: this.eps } : { eps: this.eps, gamma: g, beta: b });
    const a1 = K.allocRows(m, D);
    K.layerNormQuantize(x, a1, lnOpts(this.ln.g1, this.ln.b1));
    lap("ln1+quantise");
    const qkv = K.arena.alloc(m * 3 * D * 4); // [M, 3D]
    K.gemm(a1, this.qkv, qkv);
    lap("qkv");
    const att = K.arena.alloc(m * D * 4); // [M, D]
    K.attention(qkv, m, { heads: H, headDim: D / H, ldq: 3 * D, qOff: 0, kOff: D, vOff: 2 * D, scale: 1, out: att, ldo: D, keyBias });
    lap("attention");
    const a2 = K.allocRows(m, D);
    K.quantizeRows(att, a2);
    lap("quantise");
    K.gemm(a2, this.out, x, { residual: x });
    lap("out-proj");
    const a3 = K.allocRows(m, D);
    K.layerNormQuantize(x, a3, lnOpts(this.ln.g2, this.ln.b2));
    lap("ln2+quantise");
    const h = K.arena.alloc(m * F * 4); // [M, F]
    K.gemm(a3, this.fc1, h, { gelu: true });
    lap("fc1+gelu");
    const a4 = K.allocRows(m, F);
    K.quantizeRows(h, a4);
    lap("quantise2");
    K.gemm(a4, this.fc2, x, { residual: x });
    lap("fc2");
    K.arena.release(mark);
  }
}
