// W8A12 integer GEMM: C[M, N] fp32 = (A_q[M, K] int16, per-row scale) x (W_q[K, N] int8, per-column scale), with the
// epilogue fused: * rowScale[m] * colScale[n] + bias[n], optional tanh-GELU, optional residual add.
//
// Register block 4 rows x 8 columns ("layout (a)", as MLAS's SIMD128 kernel but 4 rows instead of 1): per k-pair,
// one 32-bit splat of two int16 activations of a row times a vector of 4 columns x 2 k of int16 weights gives 4
// columns of `i32x4.dot_i16x8_s`. 8 accumulators + 4 splats + 2 weight vectors + 1 temporary = 15 of V8's 15
// allocatable XMM registers; larger blocks spill (V8 hoists every load of the loop body to its top).
//
// Packed layouts (bytes; "pair" p covers k = 2p, 2p + 1; K is padded to kPairs * 2 with zeros):
//   A (activations, written by quantizeRows / layerNormQuantize): blocks of 4 rows; block b, pair p, row r:
//     a + (b * kPairs + p) * 16 + r * 4  ->  int16 A[4b + r][2p], int16 A[4b + r][2p + 1]
//   W (weights, written once at load by the TypeScript packer): panels of 8 columns; panel j, pair p:
//     w + (j * kPairs + p) * 16 + c * 2 + t  ->  int8 W[2p + t][8j + c]        (c = 0..3, t = 0..1)
//     w + (j * kPairs + p) * 16 + 8 + (c - 4) * 2 + t  (c = 4..7)
//   Each panel is widened to int16 once into `scratch` (kPairs * 32 bytes + 64) and read by every row block.
// Exactness: |A| <= 2047 (the quantisers clamp), |W| <= 127, so |sum| <= 2047 * 127 * K < 2^31 for K <= 8260.

import { gelu4 } from "./math";

/** Rows per register block (A is packed in blocks of this many rows). */
export const GEMM_MR: i32 = 4;
/** Columns per register block (W is packed in panels of this many columns). */
export const GEMM_NR: i32 = 8;
/** Epilogue flag: apply tanh-GELU after the bias. */
export const FLAG_GELU: i32 = 1;
/** Debug flag: store the raw int32 accumulators (no scales, bias, GELU or residual). */
export const FLAG_RAW_I32: i32 = 2;

@inline function widenPanel(src: usize, dst: usize, kPairs: i32): void {
  const end = src + (<usize>kPairs << 4);
  while (src < end) {
    v128.store(dst, v128.load8x8_s(src));
    v128.store(dst, v128.load8x8_s(src, 8), 16);
    src += 16;
    dst += 32;
  }
}

// One row of a block through the epilogue; `cols` < 8 only in the last panel.
@inline function storeRow(
  c0: v128, c1: v128, row: i32, cols: i32, rowScale: usize, cs0: v128, cs1: v128, b0: v128, b1: v128,
  dst: usize, res: usize, flags: i32, tmp: usize,
): void {
  let y0: v128, y1: v128;
  if (flags & FLAG_RAW_I32) {
    y0 = c0;
    y1 = c1;
  } else {
    const rs = v128.load32_splat(rowScale + (<usize>row << 2));
    y0 = f32x4.add(f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(c0), cs0), rs), b0);
    y1 = f32x4.add(f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(c1), cs1), rs), b1);
    if (flags & FLAG_GELU) {
      y0 = gelu4(y0);
      y1 = gelu4(y1);
    }
  }
  if (cols == 8) {
    if (res != 0 && !(flags & FLAG_RAW_I32)) {
      y0 = f32x4.add(y0, v128.load(res));
      y1 = f32x4.add(y1, v128.load(res, 16));
    }
    v128.store(dst, y0);
    v128.store(dst, y1, 16);
  } else {
    v128.store(tmp, y0);
    v128.store(tmp, y1, 16);
    for (let c = 0; c < cols; c++) {
      const o = <usize>c << 2;
      if (res != 0 && !(flags & FLAG_RAW_I32)) store<f32>(dst + o, load<f32>(tmp + o) + load<f32>(res + o));
      else store<i32>(dst + o, load<i32>(tmp + o));
    }
  }
}

/**
 * out[m, n] = A[m, :] . W[:, n] * rowScale[m] * colScale[n] + bias[n], then GELU if flagged, then + residual[m, n]
 * if `residual` != 0 (it may equal `out`). `ldo` / `ldr` are row strides in elements. colScale and bias hold
 * nPanels * 8 floats (zero-padded). `scratch` holds kPairs * 32 + 64 bytes.
 */
export function gemmW8A12(
  a: usize, rowScale: usize, m: i32,
  w: usize, colScale: usize, bias: usize, n: i32, kPairs: i32,
  out: usize, ldo: i32, residual: usize, ldr: i32, flags: i32, scratch: usize,
): void {
  const nPanels = (n + 7) >> 3;
  const mBlocks = (m + 3) >> 2;
  const panelBytes = <usize>kPairs << 4;
  const wide = scratch;
  const tmp = scratch + (<usize>kPairs << 5);
  const ldoB = <usize>ldo << 2;
  const ldrB = <usize>ldr << 2;
  for (let np = 0; np < nPanels; np++) {
    widenPanel(w + <usize>np * panelBytes, wide, kPairs);
    const cols = min(8, n - (np << 3));
    const cs0 = v128.load(colScale + (<usize>np << 5));
    const cs1 = v128.load(colScale + (<usize>np << 5), 16);
    const b0 = v128.load(bias + (<usize>np << 5));
    const b1 = v128.load(bias + (<usize>np << 5), 16);
    for (let mb = 0; mb < mBlocks; mb++) {
      let ap = a + <usize>mb * panelBytes;
      const aEnd = ap + panelBytes;
      let bq = wide;
      let c00 = i32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      do {
        const w0 = v128.load(bq);
        const w1 = v128.load(bq, 16);
        const x0 = v128.load32_splat(ap);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, w0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, w1));
        const x1 = v128.load32_splat(ap, 4);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, w0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, w1));
        const x2 = v128.load32_splat(ap, 8);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x2, w0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x2, w1));
        const x3 = v128.load32_splat(ap, 12);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x3, w0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x3, w1));
        ap += 16;
        bq += 32;
      } while (ap < aEnd);
      const row = mb << 2;
      const col = <usize>np << 5;
      const d = out + <usize>row * ldoB + col;
      const r: usize = residual == 0 ? 0 : residual + <usize>row * ldrB + col;
      storeRow(c00, c01, row, cols, rowScale, cs0, cs1, b0, b1, d, r, flags, tmp);
      if (row + 1 < m) storeRow(c10, c11, row + 1, cols, rowScale, cs0, cs1, b0, b1, d + ldoB, r == 0 ? <usize>0 : r + ldrB, flags, tmp);
      if (row + 2 < m) storeRow(c20, c21, row + 2, cols, rowScale, cs0, cs1, b0, b1, d + 2 * ldoB, r == 0 ? <usize>0 : r + 2 * ldrB, flags, tmp);
      if (row + 3 < m) storeRow(c30, c31, row + 3, cols, rowScale, cs0, cs1, b0, b1, d + 3 * ldoB, r == 0 ? <usize>0 : r + 3 * ldrB, flags, tmp);
    }
  }
}
