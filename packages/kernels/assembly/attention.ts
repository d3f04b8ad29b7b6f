// fp32 multi-head attention on a fused QKV buffer, and row softmax.
// Scores: 4 query rows x 8 keys per register block (K_h transposed once per head, Q rows interleaved so one pointer
// reads them); P.V: 4 query rows x 8 head dims per block (P rows interleaved the same way). Plain SIMD128 mul + add
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
  for (; j + 4 <= n; j += 4) vm = f32x4.max(vm, v128.load(p + (<usize>j << 2)));
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

/** Scratch bytes `attention` needs for m tokens and head dim hd. */
export function attentionScratchBytes(m: i32, hd: i32): i32 {
  const mp = (m + 7) & ~7;
  return (hd * mp + m * mp + hd * 4 + mp * 4) << 2;
}

/**
 * out[i, h * hd + d] = softmax_j(scale * Q_h[i] . K_h[j]) . V_h[j, d] for every head h < heads.
 * Row i of Q_h starts at qkv + (i * ldq + qOff + h * hd) floats (likewise K with kOff, V with vOff); hd % 8 == 0.
 */
export function attention(
  qkv: usize, ldq: i32, m: i32, heads: i32, hd: i32, qOff: i32, kOff: i32, vOff: i32, scale: f32,
  out: usize, ldo: i32, scratch: usize,
): void {
  const mp = (m + 7) & ~7;
  const kt = scratch; // [hd][mp]
  const s = kt + (<usize>(hd * mp) << 2); // [m][mp]
  const qp = s + (<usize>(m * mp) << 2); // [hd][4]
  const pp = qp + (<usize>(hd * 4) << 2); // [mp][4]
  const ldqB = <usize>ldq << 2;
  const mpB = <usize>mp << 2;
  const vscale = f32x4.splat(scale);
  for (let h = 0; h < heads; h++) {
    const qh = qkv + (<usize>(qOff + h * hd) << 2);
    const kh = qkv + (<usize>(kOff + h * hd) << 2);
    const vh = qkv + (<usize>(vOff + h * hd) << 2);
    // K_h^T, zero-padded to mp keys
    for (let d = 0; d < hd; d++) {
      const row = kt + <usize>d * mpB;
      for (let j = 0; j < mp; j++) store<f32>(row + (<usize>j << 2), j < m ? load<f32>(kh + <usize>j * ldqB + (<usize>d << 2)) : 0);
    }
    // scores
    for (let i0 = 0; i0 < m; i0 += 4) {
      for (let d = 0; d < hd; d++) {
        for (let r = 0; r < 4; r++) {
          const i = i0 + r;
          store<f32>(qp + (<usize>(d * 4 + r) << 2), i < m ? load<f32>(qh + <usize>i * ldqB + (<usize>d << 2)) : 0);
        }
      }
      for (let j0 = 0; j0 < mp; j0 += 8) {
        let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        let qq = qp;
        const qEnd = qp + (<usize>hd << 4);
        let kk = kt + (<usize>j0 << 2);
        do {
          const k0 = v128.load(kk);
          const k1 = v128.load(kk, 16);
          const x0 = v128.load32_splat(qq);
          a00 = f32x4.add(a00, f32x4.mul(x0, k0));
          a01 = f32x4.add(a01, f32x4.mul(x0, k1));
          const x1 = v128.load32_splat(qq, 4);
          a10 = f32x4.add(a10, f32x4.mul(x1, k0));
          a11 = f32x4.add(a11, f32x4.mul(x1, k1));
          const x2 = v128.load32_splat(qq, 8);
          a20 = f32x4.add(a20, f32x4.mul(x2, k0));
          a21 = f32x4.add(a21, f32x4.mul(x2, k1));
          const x3 = v128.load32_splat(qq, 12);
          a30 = f32x4.add(a30, f32x4.mul(x3, k0));
          a31 = f32x4.add(a31, f32x4.mul(x3, k1));
          qq += 16;
          kk += mpB;
        } while (qq < qEnd);
        const o = s + <usize>i0 * mpB + (<usize>j0 << 2);
        v128.store(o, f32x4.mul(a00, vscale));
        v128.store(o, f32x4.mul(a01, vscale), 16);
        if (i0 + 1 < m) {
          v128.store(o + mpB, f32x4.mul(a10, vscale));
          v128.store(o + mpB, f32x4.mul(a11, vscale), 16);
        }
        if (i0 + 2 < m) {
          v128.store(o + 2 * mpB, f32x4.mul(a20, vscale));
          v128.store(o + 2 * mpB, f32x4.mul(a21, vscale), 16);
        }
        if (i0 + 3 < m) {
          v128.store(o + 3 * mpB, f32x4.mul(a30, vscale));
          v128.store(o + 3 * mpB, f32x4.mul(a31, vscale), 16);
        }
      }
    }
    for (let i = 0; i < m; i++) softmaxRow(s + <usize>i * mpB, m);
    // P . V_h
    for (let i0 = 0; i0 < m; i0 += 4) {
      for (let j = 0; j < m; j++) {
        for (let r = 0; r < 4; r++) {
          const i = i0 + r;
          store<f32>(pp + (<usize>(j * 4 + r) << 2), i < m ? load<f32>(s + <usize>i * mpB + (<usize>j << 2)) : 0);
        }
      }
      const pEnd = pp + (<usize>m << 4);
      for (let d0 = 0; d0 < hd; d0 += 8) {
        let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        let pq = pp;
        let vv = vh + (<usize>d0 << 2);
        do {
          const v0 = v128.load(vv);
          const v1 = v128.load(vv, 16);
          const x0 = v128.load32_splat(pq);
          a00 = f32x4.add(a00, f32x4.mul(x0, v0));
          a01 = f32x4.add(a01, f32x4.mul(x0, v1));
          const x1 = v128.load32_splat(pq, 4);
          a10 = f32x4.add(a10, f32x4.mul(x1, v0));
          a11 = f32x4.add(a11, f32x4.mul(x1, v1));
          const x2 = v128.load32_splat(pq, 8);
          a20 = f32x4.add(a20, f32x4.mul(x2, v0));
          a21 = f32x4.add(a21, f32x4.mul(x2, v1));
          const x3 = v128.load32_splat(pq, 12);
          a30 = f32x4.add(a30, f32x4.mul(x3, v0));
          a31 = f32x4.add(a31, f32x4.mul(x3, v1));
          pq += 16;
          vv += ldqB;
        } while (pq < pEnd);
        const o = out + (<usize>i0 * <usize>ldo << 2) + (<usize>(h * hd + d0) << 2);
        const ldoB = <usize>ldo << 2;
        v128.store(o, a00);
        v128.store(o, a01, 16);
        if (i0 + 1 < m) {
          v128.store(o + ldoB, a10);
          v128.store(o + ldoB, a11, 16);
        }
        if (i0 + 2 < m) {
          v128.store(o + 2 * ldoB, a20);
          v128.store(o + 2 * ldoB, a21, 16);
        }
        if (i0 + 3 < m) {
          v128.store(o + 3 * ldoB, a30);
          v128.store(o + 3 * ldoB, a31, 16);
        }
      }
    }
  }
}
