/**
 * Per-output-channel symmetric int8 weights and their packing into the GEMM's panel order (the order the kernel reads
 * them, see assembly/gemm.ts). Packing writes straight into WebAssembly memory: one copy of the weights.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { ALIGN, alignUp } from "./arena.ts";

/** Largest |q| of a weight. */
export const WMAX = 127;
/** Largest |q| of an activation (the quantisers clamp to it). */
export const AMAX = 2047;
/** Largest K with exact int32 accumulation: 2047 * 127 * K < 2^31. */
export const MAX_K = Math.floor((2 ** 31 - 1) / (AMAX * 127));
/** Columns per packed panel (the kernel's register block width). */
export const PANEL_COLS = 8;

/** int8 weights of a linear layer y = x W + b, x [M, K], W [K, N]. */
export interface Int8Linear {
  k: number;
  n: number;
  /** [K, N] row-major (k-major, as an ONNX MatMul weight) */
  q: Int8Array;
  /** [N] per-column (output-channel) scale: W ~= q * scale */
  scale: Float32Array;
  /** [N], or none */
  bias?: Float32Array;
}

/** Layout of a float weight handed to `quantizeLinear`: "kn" = [K, N] (ONNX MatMul), "nk" = [N, K] (torch Linear). */
export type WeightLayout = "kn" | "nk";

/** Round half to even, as f32x4.nearest and onnxruntime do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Symmetric per-output-channel int8: scale[n] = max_k |W[k, n]| / 127, q = round(W / scale) (half to even).
 * @param w [K, N] or [N, K] float32 (see `layout`)
 */
export function quantizeLinear(w: Float32Array, k: number, n: number, layout: WeightLayout, bias?: Float32Array): Int8Linear {
  if (w.length !== k * n) throw new SiglipError("SHAPE_MISMATCH", `weight has ${w.length} values, expected ${k} x ${n}`);
  if (bias !== undefined && bias.length !== n) throw new SiglipError("SHAPE_MISMATCH", `bias has ${bias.length} values, expected ${n}`);
  const at = layout === "kn" ? (kk: number, nn: number) => w[kk * n + nn] as number : (kk: number, nn: number) => w[nn * k + kk] as number;
  const scale = new Float32Array(n);
  const q = new Int8Array(k * n);
  for (let c = 0; c < n; c++) {
    let amax = 0;
    for (let r = 0; r < k; r++) amax = Math.max(amax, Math.abs(at(r, c)));
    if (!Number.isFinite(amax)) throw new SiglipError("INVALID_ARGUMENT", `weight column ${c} is not finite`);
    const s = Math.fround(amax / WMAX);
    scale[c] = s;
    if (s === 0) continue;
    for (let r = 0; r < k; r++) q[r * n + c] = Math.max(-WMAX, Math.min(WMAX, roundHalfEven(at(r, c) / s)));
  }
  return bias === undefined ? { k, n, q, scale } : { k, n, q, scale, bias };
}

/** Bytes of the packed weights of a K x N linear. */
export function packedBytes(k: number, n: number): number {
  return Math.ceil(n / PANEL_COLS) * Math.ceil(k / 2) * 16;
}

/**
 * Writes q [K, N] into `dst` (packedBytes(K, N) bytes) in panel order: panel j (columns 8j..8j+7), pair p (k = 2p,
 * 2p+1): 16 bytes, columns 0-3 then 4-7, each column's two k values adjacent. Out-of-range k or n are zero.
 */
export function packInt8Panels(q: Int8Array, k: number, n: number, dst: Int8Array): void {
  const kPairs = Math.ceil(k / 2);
  const panels = Math.ceil(n / PANEL_COLS);
  if (q.length !== k * n) throw new SiglipError("SHAPE_MISMATCH", `int8 weight has ${q.length} values, expected ${k} x ${n}`);
  if (dst.length !== panels * kPairs * 16) throw new SiglipError("SHAPE_MISMATCH", `packed buffer has ${dst.length} bytes, expected ${panels * kPairs * 16}`);
  dst.fill(0);
  for (let j = 0; j < panels; j++) {
    const c0 = j * PANEL_COLS;
    const cols = Math.min(PANEL_COLS, n - c0);
    for (let r = 0; r < k; r++) {
      const p = r >> 1;
      const t = r & 1;
      const base = (j * kPairs + p) * 16 + t;
      const src = r * n + c0;
      for (let c = 0; c < cols; c++) dst[base + (c >> 2) * 8 + (c & 3) * 2] = q[src + c] as number;
    }
  }
}

/**
 * Byte offsets of a packed linear's parts inside one buffer, each 64-byte aligned: int8 panels (`packInt8Panels`),
 * then f32 column scales and f32 bias, both padded with zeros to whole panels. This is the layout `loadLinear`
 * writes and the layout a kernels file stores (one copy from file to memory).
 */
export function linearLayout(k: number, n: number): { w: number; colScale: number; bias: number; bytes: number } {
  const padded = Math.ceil(n / PANEL_COLS) * PANEL_COLS;
  const colScale = alignUp(packedBytes(k, n), ALIGN);
  const bias = colScale + alignUp(padded * 4, ALIGN);
  return { w: 0, colScale, bias, bytes: bias + alignUp(padded * 4, ALIGN) };
}

/** Writes a quantised linear into `dst` (linearLayout(k, n).bytes bytes, 4-byte aligned) in that layout. */
export function writeLinear(lin: Int8Linear, dst: Uint8Array): void {
  const { k, n } = lin;
  if (k > MAX_K) throw new SiglipError("SHAPE_MISMATCH", `K = ${k} exceeds ${MAX_K}, the largest K whose int32 sums cannot overflow`);
  if (lin.scale.length !== n) throw new SiglipError("SHAPE_MISMATCH", `scale has ${lin.scale.length} values, expected ${n}`);
  if (lin.bias !== undefined && lin.bias.length !== n) throw new SiglipError("SHAPE_MISMATCH", `bias has ${lin.bias.length} values, expected ${n}`);
  const l = linearLayout(k, n);
  if (dst.byteLength !== l.bytes) throw new SiglipError("SHAPE_MISMATCH", `linear buffer has ${dst.byteLength} bytes, expected ${l.bytes}`);
  dst.fill(0);
  packInt8Panels(lin.q, k, n, new Int8Array(dst.buffer, dst.byteOffset, packedBytes(k, n)));
  new Float32Array(dst.buffer, dst.byteOffset + l.colScale, n).set(lin.scale);
  if (lin.bias !== undefined) new Float32Array(dst.buffer, dst.byteOffset + l.bias, n).set(lin.bias);
}
