import { beforeAll, describe, expect, it } from "vitest";
import { loadKernels } from "../src/node.ts";
import type { Kernels } from "../src/kernels.ts";
import { MASKED_KEY_BIAS } from "../src/tower.ts";
import { attentionRef, crossAttentionRef, geluRef, rng, ulpDiff } from "./reference.ts";

let K: Kernels;
beforeAll(async () => {
  K = await loadKernels();
});

function apply(fn: "expF32" | "geluF32", x: Float32Array): Float32Array {
  const mark = K.arena.mark();
  const p = K.putF32(x);
  K.raw[fn](p, p, x.length);
  const out = K.f32(p, x.length).slice();
  K.arena.release(mark);
  return out;
}

describe("exp and GELU", () => {
  it("exp is within 1 ulp of the correctly rounded exp on [-87.3, 88.7] (dense sweep of 400k points)", () => {
    const n = 400000;
    const x = Float32Array.from({ length: n }, (_, i) => Math.fround(-87.3 + (176 * i) / n));
    const y = apply("expF32", x);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, ulpDiff(y[i] as number, Math.exp(x[i] as number)));
    console.log(`exp: largest error ${worst.toFixed(3)} ulp`);
    expect(worst).toBeLessThanOrEqual(1);
    const spot = apply("expF32", new Float32Array([0, 1, -1, 100]));
    expect(spot[0]).toBe(1);
    expect(ulpDiff(spot[1] as number, Math.E)).toBeLessThanOrEqual(1);
    expect(ulpDiff(spot[2] as number, 1 / Math.E)).toBeLessThanOrEqual(1);
    expect(Number.isFinite(spot[3])).toBe(true); // clamped to exp(88.72283), about 3.4e38
    expect(spot[3]).toBeGreaterThan(3.3e38);
  });

  it("GELU is within 2e-7 + 4e-7 |x| of gelu_pytorch_tanh in float64 on [-12, 12], and -0 / x past the tails", () => {
    const n = 96000;
    const x = Float32Array.from({ length: n }, (_, i) => Math.fround(-12 + (24 * i) / n));
    const y = apply("geluF32", x);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs((y[i] as number) - geluRef(x[i] as number)) / (2e-7 + 4e-7 * Math.abs(x[i] as number)));
    expect(worst).toBeLessThanOrEqual(1);
    const tails = apply("geluF32", new Float32Array([-1000, -60, 60, 1000]));
    expect(Math.abs(tails[0] as number)).toBeLessThan(1e-30);
    expect(Array.from(tails.subarray(2))).toEqual([60, 1000]);
  });
});

describe("softmax and attention", () => {
  it("softmax rows match float64 within 2e-7 absolute, every row length remainder", () => {
    const r = rng(4);
    for (const n of [1, 3, 4, 5, 13, 196]) {
      const m = 3;
      const x = Float32Array.from({ length: m * n }, () => Math.fround(r.normal() * 8));
      const mark = K.arena.mark();
      const p = K.putF32(x);
      K.raw.softmaxRows(p, n, m, n);
      const got = K.f32(p, m * n).slice();
      K.arena.release(mark);
      for (let row = 0; row < m; row++) {
        const seg = Array.from(x.subarray(row * n, (row + 1) * n));
        const mx = Math.max(...seg);
        const sum = seg.reduce((s, v) => s + Math.exp(v - mx), 0);
        seg.forEach((v, j) => expect(Math.abs((got[row * n + j] as number) - Math.exp(v - mx) / sum)).toBeLessThanOrEqual(2e-7));
      }
    }
  });

  it("attention matches float64 within 2e-6 for token counts that are not multiples of the block", () => {
    const r = rng(5);
    for (const [m, heads, hd] of [[1, 1, 8], [3, 2, 16], [5, 2, 8], [13, 3, 16], [20, 2, 64]] as const) {
      const D = heads * hd;
      const ldq = 3 * D + 5; // a stride wider than the data
      const qkv = Float32Array.from({ length: m * ldq }, () => Math.fround(r.normal()));
      const scale = 1 / Math.sqrt(hd);
      const mark = K.arena.mark();
      const p = K.putF32(qkv);
      const ldo = D + 3;
      const out = K.putF32(new Float32Array(m * ldo).fill(9));
      K.attention(p, m, { heads, headDim: hd, ldq, qOff: 0, kOff: D, vOff: 2 * D, scale, out, ldo });
      const got = K.f32(out, m * ldo).slice();
      K.arena.release(mark);
      const want = attentionRef(qkv, m, ldq, heads, hd, [0, D, 2 * D], scale);
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < D; c++) expect(Math.abs((got[i * ldo + c] as number) - (want[i * D + c] as number))).toBeLessThanOrEqual(2e-6);
        for (let c = D; c < ldo; c++) expect(got[i * ldo + c]).toBe(9);
      }
    }
  });

  it("cross attention with an additive key mask (HF's float32 min) matches float64 over the kept keys within 2e-6", () => {
    const r = rng(8);
    for (const [mq, mk, heads, hd] of [[1, 1, 1, 8], [1, 13, 2, 16], [3, 20, 3, 8], [6, 9, 2, 16]] as const) {
      const D = heads * hd;
      const q = Float32Array.from({ length: mq * D }, () => Math.fround(r.normal()));
      const ldkv = 2 * D + 3;
      const kv = Float32Array.from({ length: mk * ldkv }, () => Math.fround(r.normal() * 2));
      const keep = Array.from({ length: mk }, (_, j) => j === 0 || r.uniform() > 0.4);
      const scale = 1 / Math.sqrt(hd);
      const mark = K.arena.mark();
      const pq = K.putF32(q);
      const pkv = K.putF32(kv);
      const bias = K.putF32(Float32Array.from(keep, (k) => (k ? 0 : MASKED_KEY_BIAS)));
      const out = K.putF32(new Float32Array(mq * D));
      K.crossAttention(pq, mq, pkv, mk, { heads, headDim: hd, ldq: D, ldkv, qOff: 0, kOff: 0, vOff: D, scale, out, ldo: D, keyBias: bias });
      const got = K.f32(out, mq * D).slice();
      K.arena.release(mark);
      const want = crossAttentionRef(q, mq, D, kv, mk, ldkv, heads, hd, [0, 0, D], scale, keep);
      for (let i = 0; i < mq * D; i++) expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThanOrEqual(2e-6);
    }
  });
});
