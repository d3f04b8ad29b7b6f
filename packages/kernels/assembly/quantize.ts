// Per-row activation quantisation to the GEMM's A layout (see gemm.ts), and LayerNorm (plain or affine) fused with it.
// q = clamp(roundHalfEven(x * (2047 / max|x|)), -2047, 2047), rowScale = max|x| / 2047 (0 for an all-zero row).
// Inputs must be finite (a NaN or infinity gives some bounded q, not an error).

/** Largest |q| the quantisers write: 2047 * 127 * K < 2^31 for K <= 8260. */
export const QMAX: i32 = 2047;

@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

@inline function q1(x: f32, inv: f32): i16 {
  // the vector path's arithmetic, one lane
  const v = reinterpret<i32>(x * inv + <f32>12582912.0) - 0x4b400000;
  return <i16>min(max(v, -QMAX), QMAX);
}

// One fp32 row src[0, k) into the A column starting at dst (pair stride 16 bytes); writes the row's scale.
@inline function quantizeRowInto(src: usize, k: i32, kPairs: i32, dst: usize, scaleOut: usize): void {
  let vmax = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= k; i += 4) vmax = f32x4.pmax(vmax, f32x4.abs(v128.load(src + (<usize>i << 2))));
  let amax = hmax(vmax);
  for (; i < k; i++) amax = max(amax, abs<f32>(load<f32>(src + (<usize>i << 2))));
  const inv: f32 = amax > 0 ? <f32>QMAX / amax : 0;
  store<f32>(scaleOut, amax / <f32>QMAX);
  const vinv = f32x4.splat(inv);
  const lo = i32x4.splat(-QMAX);
  const hi = i32x4.splat(QMAX);
  // x * inv + 1.5 * 2^23 rounds to the nearest integer, ties to even (|x * inv| <= 2047.5 < 2^22): its low mantissa
  // bits are the result. One add and one integer sub instead of nearest + trunc_sat.
  const magic = f32x4.splat(12582912.0);
  const magicBits = i32x4.splat(0x4b400000);
  let d = dst;
  i = 0;
  for (; i + 8 <= k; i += 8) {
    const s = src + (<usize>i << 2);
    const a0 = i32x4.sub(f32x4.add(f32x4.mul(v128.load(s), vinv), magic), magicBits);
    const a1 = i32x4.sub(f32x4.add(f32x4.mul(v128.load(s, 16), vinv), magic), magicBits);
    const q = i16x8.narrow_i32x4_s(i32x4.min_s(i32x4.max_s(a0, lo), hi), i32x4.min_s(i32x4.max_s(a1, lo), hi));
    v128.store32_lane(d, q, 0);
    v128.store32_lane(d, q, 1, 16);
    v128.store32_lane(d, q, 2, 32);
    v128.store32_lane(d, q, 3, 48);
    d += 64;
  }
  for (; i < kPairs << 1; i += 2) {
    store<i16>(d, i < k ? q1(load<f32>(src + (<usize>i << 2)), inv) : 0);
    store<i16>(d, i + 1 < k ? q1(load<f32>(src + (<usize>(i + 1) << 2)), inv) : 0, 2);
    d += 16;
  }
}

@inline function zeroRowInto(kPairs: i32, dst: usize, scaleOut: usize): void {
  store<f32>(scaleOut, 0);
  for (let p = 0; p < kPairs; p++) store<i32>(dst + (<usize>p << 4), 0);
}

// A column of row r inside the packed A buffer.
@inline function rowDst(a: usize, r: i32, kPairs: i32): usize {
  return a + (<usize>(r >> 2) * <usize>kPairs << 4) + (<usize>(r & 3) << 2);
}

/**
 * Quantises x[M, K] (row stride ldx floats) into the packed A buffer (ceil(M / 4) * kPairs * 16 bytes; rows past M are
 * zero) and rowScale (ceil(M / 4) * 4 floats). kPairs * 2 >= K; the pad is zero.
 */
export function quantizeRows(x: usize, ldx: i32, m: i32, k: i32, kPairs: i32, a: usize, rowScale: usize): void {
  const rows = ((m + 3) >> 2) << 2;
  for (let r = 0; r < rows; r++) {
    const dst = rowDst(a, r, kPairs);
    if (r < m) quantizeRowInto(x + (<usize>r * <usize>ldx << 2), k, kPairs, dst, rowScale + (<usize>r << 2));
    else zeroRowInto(kPairs, dst, rowScale + (<usize>r << 2));
  }
}

// y = (x - mean) / sqrt(var + eps) [* gamma + beta] for one row of k floats (biased variance, two passes).
@inline function normRow(src: usize, k: i32, gamma: usize, beta: usize, eps: f32, dst: usize): void {
  let vs = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= k; i += 4) vs = f32x4.add(vs, v128.load(src + (<usize>i << 2)));
  let sum = hsum(vs);
  for (; i < k; i++) sum += load<f32>(src + (<usize>i << 2));
  const mean = sum / <f32>k;
  const vm = f32x4.splat(mean);
  let vv = f32x4.splat(0);
  i = 0;
  for (; i + 4 <= k; i += 4) {
    const d = f32x4.sub(v128.load(src + (<usize>i << 2)), vm);
    vv = f32x4.add(vv, f32x4.mul(d, d));
  }
  let ss = hsum(vv);
  for (; i < k; i++) {
    const d = load<f32>(src + (<usize>i << 2)) - mean;
    ss += d * d;
  }
  const rstd = <f32>1 / sqrt<f32>(ss / <f32>k + eps);
  const vr = f32x4.splat(rstd);
  i = 0;
  if (gamma == 0) {
    for (; i + 4 <= k; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, f32x4.mul(f32x4.sub(v128.load(src + o), vm), vr));
    }
    for (; i < k; i++) store<f32>(dst + (<usize>i << 2), (load<f32>(src + (<usize>i << 2)) - mean) * rstd);
  } else {
    for (; i + 4 <= k; i += 4) {
      const o = <usize>i << 2;
      const y = f32x4.mul(f32x4.sub(v128.load(src + o), vm), vr);
      v128.store(dst + o, f32x4.add(f32x4.mul(y, v128.load(gamma + o)), v128.load(beta + o)));
    }
    for (; i < k; i++) {
      const o = <usize>i << 2;
      store<f32>(dst + o, (load<f32>(src + o) - mean) * rstd * load<f32>(gamma + o) + load<f32>(beta + o));
    }
  }
}

/** LayerNorm of x[M, K] rows into out (row stride ldo); gamma = 0 for a plain normalise (gains folded downstream). */
export function layerNorm(x: usize, ldx: i32, m: i32, k: i32, gamma: usize, beta: usize, eps: f32, out: usize, ldo: i32): void {
  for (let r = 0; r < m; r++) normRow(x + (<usize>r * <usize>ldx << 2), k, gamma, beta, eps, out + (<usize>r * <usize>ldo << 2));
}

/** LayerNorm then per-row quantisation into the packed A buffer, one row at a time through `tmpRow` (k floats). */
export function layerNormQuantize(
  x: usize, ldx: i32, m: i32, k: i32, gamma: usize, beta: usize, eps: f32,
  kPairs: i32, a: usize, rowScale: usize, tmpRow: usize,
): void {
  const rows = ((m + 3) >> 2) << 2;
  for (let r = 0; r < rows; r++) {
    const dst = rowDst(a, r, kPairs);
    if (r < m) {
      normRow(x + (<usize>r * <usize>ldx << 2), k, gamma, beta, eps, tmpRow);
      quantizeRowInto(tmpRow, k, kPairs, dst, rowScale + (<usize>r << 2));
    } else zeroRowInto(kPairs, dst, rowScale + (<usize>r << 2));
  }
}
