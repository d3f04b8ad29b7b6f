/**
 * Exact and float64 references for the kernel tests, written independently of the kernels (plain loops).
 * @module
 */
import { mulberry32 } from "@siglip-edge/core";
import { roundHalfEven } from "../src/weights.ts";

const f = Math.fround;

export function rng(seed: number): { uniform: () => number; int: (lo: number, hi: number) => number; normal: () => number } {
  const u = mulberry32(seed);
  return {
    uniform: u,
    int: (lo, hi) => lo + Math.floor(u() * (hi - lo + 1)),
    normal: () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u()),
  };
}

/** The quantiser's arithmetic in f32: inv = 2047 / max|x|, q = clamp(roundHalfEven(x * inv)), scale = max|x| / 2047. */
export function quantizeRowsRef(x: Float32Array, m: number, k: number): { q: Int16Array; scale: Float32Array } {
  const q = new Int16Array(m * k);
  const scale = new Float32Array(m);
  for (let r = 0; r < m; r++) {
    let amax = 0;
    for (let c = 0; c < k; c++) amax = Math.max(amax, Math.abs(x[r * k + c] as number));
    const inv = amax > 0 ? f(2047 / amax) : 0;
    scale[r] = f(amax / 2047);
    for (let c = 0; c < k; c++) q[r * k + c] = Math.max(-2047, Math.min(2047, roundHalfEven(f((x[r * k + c] as number) * inv))));
  }
  return { q, scale };
}

/** Reads the packed A blocks (4 rows x int16 pairs) back into [m, k]. */
export function unpackRows(buf: Int16Array, m: number, k: number): Int16Array {
  const kPairs = Math.ceil(k / 2);
  const out = new Int16Array(m * k);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < k; c++) {
      const p = c >> 1;
      out[r * k + c] = buf[((r >> 2) * kPairs + p) * 8 + (r & 3) * 2 + (c & 1)] as number;
    }
  }
  return out;
}

/** Packs int16 A [m, k] into the block layout (zero pad), for feeding the GEMM chosen integers. */
export function packRows(q: Int16Array, m: number, k: number): Int16Array {
  const kPairs = Math.ceil(k / 2);
  const out = new Int16Array(Math.ceil(m / 4) * kPairs * 8);
  for (let r = 0; r < m; r++) for (let c = 0; c < k; c++) out[((r >> 2) * kPairs + (c >> 1)) * 8 + (r & 3) * 2 + (c & 1)] = q[r * k + c] as number;
  return out;
}

/** Integer sums A[m, :] . W[:, n] as Numbers (exact: every partial sum is below 2^53). */
export function matmulIntRef(a: Int16Array, w: Int8Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let kk = 0; kk < k; kk++) {
      const av = a[r * k + kk] as number;
      if (av === 0) continue;
      for (let c = 0; c < n; c++) out[r * n + c] = (out[r * n + c] as number) + av * (w[kk * n + c] as number);
    }
  }
  return out;
}

/** The same sums in BigInt (for the max-magnitude cases). */
export function matmulBigIntRef(a: Int16Array, w: Int8Array, m: number, k: number, n: number): bigint[] {
  const out: bigint[] = [];
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let s = 0n;
      for (let kk = 0; kk < k; kk++) s += BigInt(a[r * k + kk] as number) * BigInt(w[kk * n + c] as number);
      out.push(s);
    }
  }
  return out;
}

/** gelu_pytorch_tanh in float64. */
export function geluRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** Distance in units in the last place of f32 between a and the f32 nearest to exact. */
export function ulpDiff(a: number, exact: number): number {
  const e = f(exact);
  if (a === e) return 0;
  const buf = new Float32Array([e]);
  const bits = new Int32Array(buf.buffer);
  bits[0] = (bits[0] as number) + 1;
  const ulp = Math.abs((buf[0] as number) - e) || 1.4e-45;
  return Math.abs(a - e) / ulp;
}

/** LayerNorm of one row in float64. */
export function layerNormRef(x: ArrayLike<number>, eps: number, gamma?: ArrayLike<number>, beta?: ArrayLike<number>): Float64Array {
  const k = x.length;
  let mean = 0;
  for (let i = 0; i < k; i++) mean += x[i] as number;
  mean /= k;
  let v = 0;
  for (let i = 0; i < k; i++) v += ((x[i] as number) - mean) ** 2;
  const rstd = 1 / Math.sqrt(v / k + eps);
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const y = ((x[i] as number) - mean) * rstd;
    out[i] = gamma === undefined || beta === undefined ? y : y * (gamma[i] as number) + (beta[i] as number);
  }
  return out;
}

/** Multi-head attention in float64 on a fused [m, ldq] QKV buffer. */
export function attentionRef(qkv: Float32Array, m: number, ldq: number, heads: number, hd: number, offs: [number, number, number], scale: number): Float64Array {
  return crossAttentionRef(qkv, m, ldq, qkv, m, ldq, heads, hd, offs, scale);
}

/** mq query rows over mk key/value rows in float64; keys with keep[j] false take no weight (exactly 0). */
export function crossAttentionRef(q: Float32Array, mq: number, ldq: number, kv: Float32Array, mk: number, ldkv: number, heads: number, hd: number, offs: [number, number, number], scale: number, keep?: readonly boolean[]): Float64Array {
  const D = heads * hd;
  const out = new Float64Array(mq * D);
  const [qo, ko, vo] = offs;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < mq; i++) {
      const s = new Float64Array(mk);
      let mx = -Infinity;
      for (let j = 0; j < mk; j++) {
        let d = 0;
        for (let t = 0; t < hd; t++) d += (q[i * ldq + qo + h * hd + t] as number) * (kv[j * ldkv + ko + h * hd + t] as number);
        s[j] = keep === undefined || keep[j] === true ? d * scale : -Infinity;
        mx = Math.max(mx, s[j] as number);
      }
      let sum = 0;
      for (let j = 0; j < mk; j++) {
        s[j] = Math.exp((s[j] as number) - mx);
        sum += s[j] as number;
      }
      for (let t = 0; t < hd; t++) {
        let acc = 0;
        for (let j = 0; j < mk; j++) acc += ((s[j] as number) / sum) * (kv[j * ldkv + vo + h * hd + t] as number);
        out[i * D + h * hd + t] = acc;
      }
    }
  }
  return out;
}
