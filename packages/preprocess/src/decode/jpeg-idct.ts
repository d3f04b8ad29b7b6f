/**
 * The inverse DCT libjpeg-turbo 3.1 runs with Pillow's settings: jidctint.c's `jpeg_idct_islow` (dequantisation in
 * the column pass, CONST_BITS = 13, PASS1_BITS = 2) and the post-IDCT range limit. Sums are doubles: libjpeg's JLONG
 * is 64-bit, so hostile coefficients must not wrap at 32 bits, and every intermediate stays below 2^53 (exact).
 * @module
 */
import { ZIGZAG } from "./jpeg-markers.ts";

// FIX(x) = round(x * 2^CONST_BITS), the constants of jidctint.c.
const FIX_0_298631336 = 2446, FIX_0_390180644 = 3196, FIX_0_541196100 = 4433, FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373, FIX_1_175875602 = 9633, FIX_1_501321110 = 12299, FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069, FIX_2_053119869 = 16819, FIX_2_562915447 = 20995, FIX_3_072711026 = 25172;
const ONE = 8192; // 1 << CONST_BITS

/** Post-IDCT range limit indexed by the 10-bit wrapped value (RANGE_MASK = 1023): clamp of (value + 128). */
const RANGE = new Uint8Array(1024);
for (let j = 0; j < 1024; j++) {
  const v = (j >= 512 ? j - 1024 : j) + 128;
  RANGE[j] = v < 0 ? 0 : v > 255 ? 255 : v;
}

// DESCALE(x, n) = (x + 2^(n-1)) >> n with C's arithmetic shift; times 2^-n is exact in doubles, then floor.
const PASS1_ROUND = 1024; // n = CONST_BITS - PASS1_BITS = 11
const PASS1_SCALE = 1 / 2048;
const PASS2_ROUND = 131072; // n = CONST_BITS + PASS1_BITS + 3 = 18
const PASS2_SCALE = 1 / 262144;

/** [8] outputs of the last `idct8` call, before descaling. */
const T = new Float64Array(8);

/**
 * jidctint.c's 8-point butterfly, shared by both passes: even part from inputs 0, 2, 4, 6, odd part from 1, 3, 5, 7;
 * results in `T`. Kept under V8's inlining budget (bytecode < ~420 bytes) so that both call sites inline it.
 */
function idct8(x0: number, x1: number, x2: number, x3: number, x4: number, x5: number, x6: number, x7: number): void {
  const z1 = (x2 + x6) * FIX_0_541196100;
  const e2 = z1 - x6 * FIX_1_847759065;
  const e3 = z1 + x2 * FIX_0_765366865;
  const e0 = (x0 + x4) * ONE;
  const e1 = (x0 - x4) * ONE;
  const t10 = e0 + e3;
  const t13 = e0 - e3;
  const t11 = e1 + e2;
  const t12 = e1 - e2;
  const z5 = (x7 + x5 + x3 + x1) * FIX_1_175875602;
  const za = (x7 + x1) * -FIX_0_899976223;
  const zb = (x5 + x3) * -FIX_2_562915447;
  const zc = (x7 + x3) * -FIX_1_961570560 + z5;
  const zd = (x5 + x1) * -FIX_0_390180644 + z5;
  const o0 = x7 * FIX_0_298631336 + za + zc;
  const o1 = x5 * FIX_2_053119869 + zb + zd;
  const o2 = x3 * FIX_3_072711026 + zb + zc;
  const o3 = x1 * FIX_1_501321110 + za + zd;
  const t = T;
  t[0] = t10 + o3;
  t[7] = t10 - o3;
  t[1] = t11 + o2;
  t[6] = t11 - o2;
  t[2] = t12 + o1;
  t[5] = t12 - o1;
  t[3] = t13 + o0;
  t[4] = t13 - o0;
}

/**
 * `jpeg_idct_islow` for one block: columns of the dequantised coefficients into `ws`, then rows of `ws` through the
 * range limit into `out`. The all-zero-AC shortcuts of jidctint.c give the values of the full formulas (DC * 4
 * after pass 1, (w0 + 16) >> 5 after pass 2), so they are taken here too.
 * @param coef [.., 64] int16 at `off`, natural order; @param q [64] quantisation table, natural order
 * @param out receives [8, 8] uint8 at `outOff`, rows `stride` apart; @param ws [64] float64 scratch
 */
export function idctIslow(coef: Int16Array, off: number, q: Uint16Array, out: Uint8Array, outOff: number, stride: number, ws: Float64Array): void {
  if (dcOnly(coef, off)) {
    // Both passes take their shortcuts on every line: all 64 samples are one value.
    const v = RANGE[Math.floor(((coef[off] as number) * (q[0] as number) * 4 + 16) / 32) & 1023] as number;
    for (let r = 0, o = outOff; r < 8; r++, o += stride) out.fill(v, o, o + 8);
    return;
  }
  for (let c = 0; c < 8; c++) {
    const i = off + c;
    if (((coef[i + 8] as number) | (coef[i + 16] as number) | (coef[i + 24] as number) | (coef[i + 32] as number) | (coef[i + 40] as number) | (coef[i + 48] as number) | (coef[i + 56] as number)) === 0) {
      const dc = (coef[i] as number) * (q[c] as number) * 4;
      for (let k = c; k < 64; k += 8) ws[k] = dc;
      continue;
    }
    idct8(
      (coef[i] as number) * (q[c] as number),
      (coef[i + 8] as number) * (q[c + 8] as number),
      (coef[i + 16] as number) * (q[c + 16] as number),
      (coef[i + 24] as number) * (q[c + 24] as number),
      (coef[i + 32] as number) * (q[c + 32] as number),
      (coef[i + 40] as number) * (q[c + 40] as number),
      (coef[i + 48] as number) * (q[c + 48] as number),
      (coef[i + 56] as number) * (q[c + 56] as number),
    );
    ws[c] = Math.floor(((T[0] as number) + PASS1_ROUND) * PASS1_SCALE);
    ws[c + 8] = Math.floor(((T[1] as number) + PASS1_ROUND) * PASS1_SCALE);
    ws[c + 16] = Math.floor(((T[2] as number) + PASS1_ROUND) * PASS1_SCALE);
    ws[c + 24] = Math.floor(((T[3] as number) + PASS1_ROUND) * PASS1_SCALE);
    ws[c + 32] = Math.floor(((T[4] as number) + PASS1_ROUND) * PASS1_SCALE);
    ws[c + 40] = Math.floor(((T[5] as number) + PASS1_ROUND) * PASS1_SCALE);
    ws[c + 48] = Math.floor(((T[6] as number) + PASS1_ROUND) * PASS1_SCALE);
    ws[c + 56] = Math.floor(((T[7] as number) + PASS1_ROUND) * PASS1_SCALE);
  }
  for (let r = 0; r < 64; r += 8) {
    const o = outOff + (r >> 3) * stride;
    const w0 = ws[r] as number;
    const w1 = ws[r + 1] as number;
    const w2 = ws[r + 2] as number;
    const w3 = ws[r + 3] as number;
    const w4 = ws[r + 4] as number;
    const w5 = ws[r + 5] as number;
    const w6 = ws[r + 6] as number;
    const w7 = ws[r + 7] as number;
    if (w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0 && w6 === 0 && w7 === 0) {
      out.fill(RANGE[Math.floor((w0 + 16) / 32) & 1023] as number, o, o + 8);
      continue;
    }
    idct8(w0, w1, w2, w3, w4, w5, w6, w7);
    out[o] = RANGE[Math.floor(((T[0] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
    out[o + 1] = RANGE[Math.floor(((T[1] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
    out[o + 2] = RANGE[Math.floor(((T[2] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
    out[o + 3] = RANGE[Math.floor(((T[3] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
    out[o + 4] = RANGE[Math.floor(((T[4] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
    out[o + 5] = RANGE[Math.floor(((T[5] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
    out[o + 6] = RANGE[Math.floor(((T[6] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
    out[o + 7] = RANGE[Math.floor(((T[7] as number) + PASS2_ROUND) * PASS2_SCALE) & 1023] as number;
  }
}

/** Whether the block's 63 AC coefficients are zero (tested in zig-zag order, so most other blocks fail at once). */
function dcOnly(coef: Int16Array, off: number): boolean {
  for (let k = 1; k < 64; k++) if (coef[off + (ZIGZAG[k] as number)] !== 0) return false;
  return true;
}
