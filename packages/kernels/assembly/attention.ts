// fp32 multi-head attention on a fused QKV buffer, and row softmax.
// Scores: 4 query rows x 8 keys per register block; P.V: 4 query rows x 8 head dims per block. Plain SIMD128 mul + add
// (no relaxed madd), so results do not depend on the engine.

import { exp4 } from "./math";

@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// exp of one scalar through the vector path, so the tail of a row matches its body bit for bit.
@inline function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

// Softmax of one row of n floats in place.
@inline function softmaxRow(p: usize, n: i32): void {
  let vm = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) vm = f32x4.pmax(vm, v128.load(p + (<usize>j << 2)));
  let mx = hmax(vm);
  for (; j < n; j++) mx = max(mx, load<f32>(p + (<usize>j << 2)));
  const vmx = f32x4.splat(mx);
  let vs = f32x4.splat(0);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = p + (<usize>j << 2);
    const e = exp4(f32x4.sub(v128.load(o), vmx));
    v128.store(o, e);
    vs = f32x4.add(vs, e);
  }
  let sum = hsum(vs);
  for (; j < n; j++) {
    const o = p + (<usize>j << 2);
    const e = exp1(load<f32>(o) - mx);
    store<f32>(o, e);
    sum += e;
  }
  const inv = <f32>1 / sum;
  const vi = f32x4.splat(inv);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = p + (<usize>j << 2);
    v128.store(o, f32x4.mul(v128.load(o), vi));
  }
  for (; j < n; j++) {
    const o = p + (<usize>j << 2);
    store<f32>(o, load<f32>(o) * inv);
  }
}

/** Softmax over each of m rows of n floats (row stride ld floats), in place. */
export function softmaxRows(x: usize, ld: i32, m: i32, n: i32): void {
  for (let r = 0; r < m; r++) softmaxRow(x + (<usize>r * <usize>ld << 2), n);
}

// Rows r0..r0+3 (stride ldB bytes; rows >= m read as zeros), columns c..c+3 of src, transposed: dst + t * step holds
// column c + t of the four rows.
@inline function transpose4(src: usize, ldB: usize, r0: i32, m: i32, c: i32, dst: usize, step: usize): void {
  const z = f32x4.splat(0);
  const o = <usize>c << 2;
  const a = r0 < m ? v128.load(src + <usize>r0 * ldB + o) : z;
  const b = r0 + 1 < m ? v128.load(src + <usize>(r0 + 1) * ldB + o) : z;
  const cc = r0 + 2 < m ? v128.load(src + <usize>(r0 + 2) * ldB + o) : z;
  const d = r0 + 3 < m ? v128.load(src + <usize>(r0 + 3) * ldB + o) : z;
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(cc, d, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(cc, d, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// dst[r, 0..8) = scale * sum_t a[t][r] * b[t][0..8) for r < min(4, rows): a is [t][4] floats from a to aEnd (16 bytes
// a step), b is [t][8] floats (32 bytes a step); dst rows are ldB bytes apart. Both attention products are this.
@inline function block4x8(a: usize, aEnd: usize, b: usize, dst: usize, ldB: usize, rows: i32, scale: v128): void {
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  do {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const x0 = v128.load32_splat(a);
    a00 = f32x4.add(a00, f32x4.mul(x0, b0));
    a01 = f32x4.add(a01, f32x4.mul(x0, b1));
    const x1 = v128.load32_splat(a, 4);
    a10 = f32x4.add(a10, f32x4.mul(x1, b0));
    a11 = f32x4.add(a11, f32x4.mul(x1, b1));
    const x2 = v128.load32_splat(a, 8);
    a20 = f32x4.add(a20, f32x4.mul(x2, b0));
    a21 = f32x4.add(a21, f32x4.mul(x2, b1));
    const x3 = v128.load32_splat(a, 12);
    a30 = f32x4.add(a30, f32x4.mul(x3, b0));
    a31 = f32x4.add(a31, f32x4.mul(x3, b1));
    a += 16;
    b += 32;
  } while (a < aEnd);
  v128.store(dst, f32x4.mul(a00, scale));
  v128.store(dst, f32x4.mul(a01, scale), 16);
  if (rows > 1) {
    v128.store(dst + ldB, f32x4.mul(a10, scale));
    v128.store(dst + ldB, f32x4.mul(a11, scale), 16);
  }
  if (rows > 2) {
    v128.store(dst + 2 * ldB, f32x4.mul(a20, scale));
    v128.store(dst + 2 * ldB, f32x4.mul(a21, scale), 16);
  }
  if (rows > 3) {
    v128.store(dst + 3 * ldB, f32x4.mul(a30, scale));
    v128.store(dst + 3 * ldB, f32x4.mul(a31, scale), 16);
  }
}

/** Scratch bytes `attention` needs for m tokens and head dim hd. */
export function attentionScratchBytes(m: i32, hd: i32): i32 {
  return crossAttentionScratchBytes(m, m, hd);
}

/** Scratch bytes `crossAttention` needs for mq queries, mk keys and head dim hd. */
export function crossAttentionScratchBytes(mq: i32, mk: i32, hd: i32): i32 {
  const kp = (mk + 7) & ~7;
  const q4 = (mq + 3) & ~3;
  return (hd * kp + q4 * hd + mq * kp + q4 * mk + hd * mk) << 2;
}

/**
 * Self-attention on a fused QKV buffer: `crossAttention` with the queries, keys and values all in `qkv` (m rows)
 * and no key mask.
 */
export function attention(
  qkv: usize, ldq: i32, m: i32, heads: i32, hd: i32, qOff: i32, kOff: i32, vOff: i32, scale: f32,
  out: usize, ldo: i32, scratch: usize,
): void {
  crossAttention(qkv, ldq, m, qkv, ldq, m, heads, hd, qOff, kOff, vOff, scale, 0, out, ldo, scratch);
}

/**
 * out[i, h * hd + d] = softmax_j(scale * Q_h[i] . K_h[j] + keyBias[j]) . V_h[j, d] for every head h < heads, i < mq,
 * j < mk. Row i of Q_h starts at q + (i * ldq + qOff + h * hd) floats, row j of K_h at kv + (j * ldkv + kOff + h * hd)
 * (V likewise with vOff); hd % 8 == 0. keyBias: mk floats added to every row's scores (an additive key mask, HF's
 * float32-min for masked keys), or 0 for none.
 * Per head, the operands are first packed in the order the loops read them (all sequential, the inner operand
 * small enough for L1): K_h^T in chunks of 8 keys [mk/8][hd][8], Q_h in blocks of 4 rows [mq/4][hd][4], P in blocks
 * of 4 rows [mq/4][mk][4], V_h in chunks of 8 dims [hd/8][mk][8].
 */
export function crossAttention(
  q: usize, ldq: i32, mq: i32, kv: usize, ldkv: i32, mk: i32, heads: i32, hd: i32, qOff: i32, kOff: i32, vOff: i32,
  scale: f32, keyBias: usize, out: usize, ldo: i32, scratch: usize,
): void {
  const mp = (mk + 7) & ~7;
  const mq4 = (mq + 3) & ~3;
  const kt = scratch; // [mp / 8][hd][8]
  const qp = kt + (<usize>(hd * mp) << 2); // [mq4 / 4][hd][4]
  const s = qp + (<usize>(mq4 * hd) << 2); // [mq][mp]
  const pp = s + (<usize>(mq * mp) << 2); // [mq4 / 4][mk][4]
  const vp = pp + (<usize>(mq4 * mk) << 2); // [hd / 8][mk][8]
  const ldqB = <usize>ldq << 2;
  const ldkvB = <usize>ldkv << 2;
  const mpB = <usize>mp << 2;
  const ldoB = <usize>ldo << 2;
  const vscale = f32x4.splat(scale);
  const one = f32x4.splat(1);
  for (let h = 0; h < heads; h++) {
    const qh = q + (<usize>(qOff + h * hd) << 2);
    const kh = kv + (<usize>(kOff + h * hd) << 2);
    const vh = kv + (<usize>(vOff + h * hd) << 2);
    // K_h^T chunks and Q_h blocks, 4 x 4 transposes (rows past mk / mq read as zeros)
    for (let j0 = 0; j0 < mp; j0 += 4) {
      const dst = kt + (<usize>((j0 >> 3) * hd * 8 + (j0 & 7)) << 2);
      for (let d = 0; d < hd; d += 4) transpose4(kh, ldkvB, j0, mk, d, dst + (<usize>(d * 8) << 2), 32);
    }
    for (let i0 = 0; i0 < mq4; i0 += 4) {
      const dst = qp + (<usize>(i0 * hd) << 2);
      for (let d = 0; d < hd; d += 4) transpose4(qh, ldqB, i0, mq, d, dst + (<usize>(d * 4) << 2), 16);
    }
    for (let j = 0; j < mk; j++) {
      const src = vh + <usize>j * ldkvB;
      for (let d0 = 0; d0 < hd; d0 += 8) {
        const dst = vp + (<usize>(d0 * mk + j * 8) << 2);
        v128.store(dst, v128.load(src + (<usize>d0 << 2)));
        v128.store(dst, v128.load(src + (<usize>d0 << 2), 16), 16);
      }
    }
    // scores, 4 query rows x 8 keys per block
    for (let j0 = 0; j0 < mp; j0 += 8) {
      const kBase = kt + (<usize>(j0 * hd) << 2);
      for (let i0 = 0; i0 < mq; i0 += 4) {
        const qq = qp + (<usize>(i0 * hd) << 2);
        block4x8(qq, qq + (<usize>hd << 4), kBase, s + <usize>i0 * mpB + (<usize>j0 << 2), mpB, mq - i0, vscale);
      }
    }
    if (keyBias != 0) {
      // scale * q.k first, then the mask, as the graph (and HF eager) add it
      for (let i = 0; i < mq; i++) {
        const row = s + <usize>i * mpB;
        let j = 0;
        for (; j + 4 <= mk; j += 4) {
          const o = <usize>j << 2;
          v128.store(row + o, f32x4.add(v128.load(row + o), v128.load(keyBias + o)));
        }
        for (; j < mk; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) + load<f32>(keyBias + (<usize>j << 2)));
      }
    }
    for (let i = 0; i < mq; i++) softmaxRow(s + <usize>i * mpB, mk);
    for (let i0 = 0; i0 < mq4; i0 += 4) {
      const dst = pp + (<usize>(i0 * mk) << 2);
      let j = 0;
      for (; j + 4 <= mk; j += 4) transpose4(s, mpB, i0, mq, j, dst + (<usize>(j * 4) << 2), 16);
      for (; j < mk; j++) {
        for (let r = 0; r < 4; r++) store<f32>(dst + (<usize>(j * 4 + r) << 2), i0 + r < mq ? load<f32>(s + <usize>(i0 + r) * mpB + (<usize>j << 2)) : 0);
      }
    }
    // P . V_h, 4 query rows x 8 dims per block
    for (let d0 = 0; d0 < hd; d0 += 8) {
      const vBase = vp + (<usize>(d0 * mk) << 2);
      for (let i0 = 0; i0 < mq; i0 += 4) {
        const pq = pp + (<usize>(i0 * mk) << 2);
        block4x8(pq, pq + (<usize>mk << 4), vBase, out + <usize>i0 * ldoB + (<usize>(h * hd + d0) << 2), ldoB, mq - i0, one);
      }
    }
  }
}
