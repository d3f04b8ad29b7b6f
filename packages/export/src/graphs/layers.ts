/**
 * Transformer building blocks as ONNX subgraphs (siglip2-spec §2): Linear (fp32, fp16 storage, int8 per-channel,
 * 4-bit MatMulNBits), LayerNormalization (opset 17), tanh GELU (explicit formula, not the erf GELU), multi-head
 * attention with an optional additive key mask, the pre-LN encoder layer and the MAP head with packed q|k|v.
 * @module
 */
import type { WeightDType } from "@siglip-edge/core";
import type { GraphBuilder } from "../onnx/builder.ts";

/** The weight formats are part of the bundle contract (packages/core manifest.ts). */
export { WEIGHT_DTYPES, type WeightDType } from "@siglip-edge/core";

/** Reads a checkpoint tensor as float32 (shape already checked). */
export type WeightReader = (name: string) => Promise<Float32Array>;

/** Reads rows [start, start + count) of a 2-D checkpoint tensor: big tables are streamed, not held. */
export type RowReader = (name: string, start: number, count: number, into?: Float32Array) => Promise<Float32Array>;

/** float32 lowest finite value: the additive mask HF uses (not -inf). */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * float32 -> binary16 bits, round to nearest even; same results as core's `float32ToFloat16Bits` (checked in
 * test/f16.test.ts) but reading the float bits through one view of the whole array instead of a scratch array per
 * value (the table of a B/16 checkpoint has 197M values).
 */
export function toF16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) {
    const x = bits[i] as number;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
      continue;
    }
    const e = exp - 112;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1) === 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
    out[i] = sign | h;
  }
  return out;
}

/** Stores a float32 parameter in the variant's float storage (fp16 + Cast for the fp16 variant, else fp32). */
export function floatParam(g: GraphBuilder, name: string, dims: number[], data: Float32Array, dtype: WeightDType): string {
  if (dtype !== "fp16") return g.init(name, "float32", dims, data);
  return g.op("Cast", [g.init(name, "float16", dims, toF16(data))], { to: 1 });
}

/**
 * Transposes a PyTorch Linear weight.
 * @param w [out, in] float32
 * @returns [in, out] float32
 */
export function transpose2d(w: Float32Array, out: number, inn: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) t[i * out + o] = w[o * inn + i] as number;
  return t;
}

const Q4_BLOCK = 32;

/**
 * Mixed 4-bit policy: only the encoder MLP weights (fc1/fc2, two thirds of each layer) go to 4 bits; attention
 * projections and the heads, where errors are amplified by the softmax and the pooling, use int8 per-channel.
 * Measured on the tiny goldens: all-4-bit gives cosine ~0.94-0.97 to fp32, this policy >= 0.99 (see README).
 */
export function weightPolicy(name: string, requested: WeightDType): WeightDType {
  if (requested !== "q4") return requested;
  return /\.encoder\.layers\.\d+\.mlp\.fc[12]$/.test(name) ? "q4" : "int8";
}

/**
 * `y = x · Wᵀ + b` for a PyTorch weight `W [out, in]`, stored in the requested dtype.
 * - int8: symmetric per-output-channel scales, `DequantizeLinear(axis=1)` then MatMul (weights-only quantisation);
 * - q4: `com.microsoft.MatMulNBits` (bits 4, block 32 along K, symmetric, implicit zero point 8).
 * @param x [..., in] float32 value name
 */
export function linear(
  g: GraphBuilder,
  x: string,
  name: string,
  w: Float32Array,
  b: Float32Array | null,
  out: number,
  inn: number,
  requested: WeightDType,
): string {
  const dtype = weightPolicy(name, requested);
  let y: string;
  if (dtype === "q4") {
    const nBlocks = Math.ceil(inn / Q4_BLOCK);
    const blob = Q4_BLOCK / 2;
    const packed = new Uint8Array(out * nBlocks * blob); // [N, n_blocks, blob]
    const scales = new Float32Array(out * nBlocks); // [N * n_blocks]
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < nBlocks; k++) {
        let amax = 0;
        const lo = k * Q4_BLOCK;
        const hi = Math.min(inn, lo + Q4_BLOCK);
        for (let i = lo; i < hi; i++) amax = Math.max(amax, Math.abs(w[o * inn + i] as number));
        const s = amax / 7 || 1;
        scales[o * nBlocks + k] = s;
        for (let i = lo; i < lo + Q4_BLOCK; i++) {
          const q = i < hi ? Math.max(-8, Math.min(7, Math.round((w[o * inn + i] as number) / s))) + 8 : 8;
          const byte = (o * nBlocks + k) * blob + ((i - lo) >> 1);
          packed[byte] = (packed[byte] as number) | (((i - lo) & 1) === 0 ? q : q << 4); // low nibble first
        }
      }
    }
    const bq = g.init(`${name}.q4`, "uint8", [out, nBlocks, blob], packed);
    const sc = g.init(`${name}.q4_scales`, "float32", [out * nBlocks], scales);
    y = g.op("MatMulNBits", [x, bq, sc], { K: inn, N: out, bits: 4, block_size: Q4_BLOCK }, "com.microsoft");
  } else if (dtype === "int8") {
    const scales = new Float32Array(out);
    for (let o = 0; o < out; o++) {
      let amax = 0;
      for (let i = 0; i < inn; i++) amax = Math.max(amax, Math.abs(w[o * inn + i] as number));
      scales[o] = amax / 127 || 1;
    }
    const q = new Int8Array(out * inn); // [in, out]: quantised and transposed in one pass, no float copy
    for (let o = 0; o < out; o++) {
      const s = scales[o] as number;
      for (let i = 0; i < inn; i++) q[i * out + o] = Math.round((w[o * inn + i] as number) / s);
    }
    const wq = g.init(`${name}.int8`, "int8", [inn, out], q);
    const sc = g.init(`${name}.scale`, "float32", [out], scales);
    const zp = g.init(`${name}.zero_point`, "int8", [out], new Int8Array(out));
    const wf = g.op("DequantizeLinear", [wq, sc, zp], { axis: 1 });
    y = g.op("MatMul", [x, wf]);
  } else {
    const wt = floatParam(g, `${name}.weight_t`, [inn, out], transpose2d(w, out, inn), dtype); // [in, out]
    y = g.op("MatMul", [x, wt]);
  }
  if (b === null) return y;
  return g.op("Add", [y, g.init(`${name}.bias`, "float32", [out], b)]);
}

export function layerNorm(g: GraphBuilder, x: string, name: string, gamma: Float32Array, beta: Float32Array, eps: number): string {
  const D = gamma.length;
  return g.op("LayerNormalization", [x, g.init(`${name}.weight`, "float32", [D], gamma), g.init(`${name}.bias`, "float32", [D], beta)], {
    axis: -1,
    epsilon: { float: eps },
  });
}

/** `0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))` (PyTorch `gelu(approximate="tanh")`). */
export function geluTanh(g: GraphBuilder, x: string): string {
  const x3 = g.op("Mul", [g.op("Mul", [x, x]), x]);
  const inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [x3, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
  const t = g.op("Add", [g.op("Tanh", [inner]), g.scalar(1)]);
  return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), t]);
}

export interface AttnDims {
  D: number;
  H: number;
}

/** [B, N, D] -> [B, H, N, hd] (or [B, H, hd, N] when `keyT`). */
function splitHeads(g: GraphBuilder, x: string, d: AttnDims, keyT: boolean): string {
  const r = g.op("Reshape", [x, g.i64([0, 0, d.H, d.D / d.H])]); // [B, N, H, hd]
  return g.op("Transpose", [r], { perm: keyT ? [0, 2, 3, 1] : [0, 2, 1, 3] });
}

/**
 * Scaled dot-product attention core: softmax(q·kᵀ · hd^-0.5 + mask) · v, heads merged back.
 * @param q [B|1, Nq, D] query projections
 * @param k [B, N, D] key projections; `v` likewise
 * @param maskAdd [B, 1, 1, N] additive key mask or null
 * @returns [B, Nq, D]
 */
export function attentionCore(g: GraphBuilder, q: string, k: string, v: string, d: AttnDims, maskAdd: string | null): string {
  const qh = splitHeads(g, q, d, false); // [B, H, Nq, hd]
  const kh = splitHeads(g, k, d, true); // [B, H, hd, N]
  const vh = splitHeads(g, v, d, false); // [B, H, N, hd]
  let s = g.op("Mul", [g.op("MatMul", [qh, kh]), g.scalar((d.D / d.H) ** -0.5)]); // scale after the matmul, as HF eager
  if (maskAdd !== null) s = g.op("Add", [s, maskAdd]);
  const p = g.op("Softmax", [s], { axis: -1 });
  const o = g.op("Transpose", [g.op("MatMul", [p, vh])], { perm: [0, 2, 1, 3] }); // [B, Nq, H, hd]
  return g.op("Reshape", [o, g.i64([0, 0, d.D])]); // [B, Nq, D]
}

/** Additive key mask `(1 - m) · float32_min` from an integer mask [B, N] -> [B, 1, 1, N]. */
export function additiveKeyMask(g: GraphBuilder, mask: string): string {
  const m = g.op("Cast", [mask], { to: 1 });
  const add = g.op("Mul", [g.op("Sub", [g.scalar(1), m]), g.scalar(FLOAT32_MIN)]);
  return g.op("Unsqueeze", [add, g.i64([1, 2])]);
}

export interface TowerDims {
  D: number;
  H: number;
  M: number;
  eps: number;
}

/**
 * A block of a tower graph over the weights under prefix `p`: the encoder layer and the MAP head.
 * @param x the block's input tensor name
 * @param maskAdd `[B, 1, 1, N]` additive key mask (`additiveKeyMask`), or null for none
 * @returns the output tensor name
 */
export type TowerBlock = (g: GraphBuilder, x: string, p: string, read: WeightReader, t: TowerDims, maskAdd: string | null, dtype: WeightDType) => Promise<string>;

/** One pre-LN encoder layer: x + Attn(LN1(x)), then + MLP(LN2(x)). */
export const encoderLayer: TowerBlock = async (g, x, p, read, t, maskAdd, dtype) => {
  const { D, M } = t;
  const h = layerNorm(g, x, `${p}.layer_norm1`, await read(`${p}.layer_norm1.weight`), await read(`${p}.layer_norm1.bias`), t.eps);
  const proj = async (n: string): Promise<string> =>
    linear(g, h, `${p}.self_attn.${n}`, await read(`${p}.self_attn.${n}.weight`), await read(`${p}.self_attn.${n}.bias`), D, D, dtype);
  const a = attentionCore(g, await proj("q_proj"), await proj("k_proj"), await proj("v_proj"), { D, H: t.H }, maskAdd);
  const o = linear(g, a, `${p}.self_attn.out_proj`, await read(`${p}.self_attn.out_proj.weight`), await read(`${p}.self_attn.out_proj.bias`), D, D, dtype);
  const x1 = g.op("Add", [x, o]);
  const h2 = layerNorm(g, x1, `${p}.layer_norm2`, await read(`${p}.layer_norm2.weight`), await read(`${p}.layer_norm2.bias`), t.eps);
  const m = await mlp(g, h2, `${p}.mlp`, read, D, M, dtype);
  return g.op("Add", [x1, m]);
};

export async function mlp(g: GraphBuilder, x: string, p: string, read: WeightReader, D: number, M: number, dtype: WeightDType): Promise<string> {
  const f1 = linear(g, x, `${p}.fc1`, await read(`${p}.fc1.weight`), await read(`${p}.fc1.bias`), M, D, dtype);
  return linear(g, geluTanh(g, f1), `${p}.fc2`, await read(`${p}.fc2.weight`), await read(`${p}.fc2.bias`), D, M, dtype);
}

/**
 * MAP head (`SiglipMultiheadAttentionPoolingHead`): a learned probe attends over the tokens with torch MHA weights
 * (packed `in_proj_weight` rows q | k | v), then `y = a + MLP(LN(a))`.
 * @param h [B, N, D] post-LN tokens
 * @returns [B, D] pooled
 */
export const mapHead: TowerBlock = async (g, h, p, read, t, maskAdd, dtype) => {
  const { D, M } = t;
  const probe = g.init(`${p}.probe`, "float32", [1, 1, D], await read(`${p}.probe`));
  const inW = await read(`${p}.attention.in_proj_weight`); // [3D, D]
  const inB = await read(`${p}.attention.in_proj_bias`); // [3D]
  const part = (i: number): [Float32Array, Float32Array] => [inW.subarray(i * D * D, (i + 1) * D * D), inB.subarray(i * D, (i + 1) * D)];
  const [wq, bq] = part(0);
  const [wk, bk] = part(1);
  const [wv, bv] = part(2);
  const q = linear(g, probe, `${p}.attention.q`, wq, bq, D, D, dtype); // [1, 1, D]
  const k = linear(g, h, `${p}.attention.k`, wk, bk, D, D, dtype);
  const v = linear(g, h, `${p}.attention.v`, wv, bv, D, D, dtype);
  const att = attentionCore(g, q, k, v, { D, H: t.H }, maskAdd); // [B, 1, D]
  const a = linear(g, att, `${p}.attention.out_proj`, await read(`${p}.attention.out_proj.weight`), await read(`${p}.attention.out_proj.bias`), D, D, dtype);
  const ln = layerNorm(g, a, `${p}.layernorm`, await read(`${p}.layernorm.weight`), await read(`${p}.layernorm.bias`), t.eps);
  const y = g.op("Add", [a, await mlp(g, ln, `${p}.mlp`, read, D, M, dtype)]); // residual is the attention output
  return g.op("Reshape", [y, g.i64([0, D])]); // [B, D]
};
