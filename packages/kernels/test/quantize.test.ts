import { beforeAll, describe, expect, it } from "vitest";
import { loadKernels } from "../src/node.ts";
import type { Kernels } from "../src/kernels.ts";
import { layerNormRef, quantizeRowsRef, rng, unpackRows } from "./reference.ts";

let K: Kernels;
beforeAll(async () => {
  K = await loadKernels();
});

function quantize(x: Float32Array, m: number, k: number, ln?: { eps: number; gamma?: Float32Array; beta?: Float32Array }) {
  const mark = K.arena.mark();
  const xp = K.putF32(x);
  const rows = K.allocRows(m, k);
  if (ln === undefined) K.quantizeRows(xp, rows);
  else {
    const gamma = ln.gamma === undefined ? undefined : K.putF32(ln.gamma);
    const beta = ln.beta === undefined ? undefined : K.putF32(ln.beta);
    K.layerNormQuantize(xp, rows, { eps: ln.eps, ...(gamma === undefined ? {} : { gamma }), ...(beta === undefined ? {} : { beta }) });
  }
  const blocks = Math.ceil(m / 4);
  const raw = K.i16(rows.a, blocks * rows.kPairs * 8).slice();
  const scale = K.f32(rows.rowScale, blocks * 4).slice();
  K.arena.release(mark);
  return { q: unpackRows(raw, m, k), raw, scale, kPairs: rows.kPairs };
}

describe("per-row activation quantiser", () => {
  it("is bit-exact with the f32 reference for every K remainder, zero rows and outlier rows", () => {
    const r = rng(1);
    for (const k of [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 768]) {
      for (const m of [1, 3, 4, 6]) {
        const x = Float32Array.from({ length: m * k }, () => Math.fround(r.normal() * 3));
        if (m > 2) x.fill(0, 2 * k, 3 * k); // an all-zero row
        if (k > 4) x[1] = 250; // an outlier channel in row 0
        const got = quantize(x, m, k);
        const want = quantizeRowsRef(x, m, k);
        expect(Array.from(got.q)).toEqual(Array.from(want.q));
        expect(Array.from(got.scale.subarray(0, m))).toEqual(Array.from(want.scale));
      }
    }
  });

  it("keeps |q| <= 2047 and fills the padding (rows past M, k past K) with zeros", () => {
    const [m, k] = [5, 9];
    const x = Float32Array.from({ length: m * k }, (_, i) => (i % 2 ? 1 : -1) * (i + 1));
    const got = quantize(x, m, k);
    expect(Math.max(...Array.from(got.q, Math.abs))).toBe(2047);
    // packed buffer: 2 blocks x 5 pairs x 4 rows x 2; rows 5..7 and k = 9 are padding
    for (let b = 0; b < 2; b++) {
      for (let p = 0; p < got.kPairs; p++) {
        for (let row = 0; row < 4; row++) {
          for (let t = 0; t < 2; t++) {
            const idx = ((b * got.kPairs + p) * 4 + row) * 2 + t;
            if (b * 4 + row >= m || 2 * p + t >= k) expect(got.raw[idx]).toBe(0);
          }
        }
      }
    }
    expect(Array.from(got.scale.subarray(m))).toEqual([0, 0, 0]);
  });
});

describe("LayerNorm", () => {
  it("plain normalise then quantise: q * scale within half a step of the float64 LayerNorm", () => {
    const r = rng(2);
    for (const k of [7, 64, 768]) {
      const m = 5;
      const x = Float32Array.from({ length: m * k }, () => Math.fround(r.normal() * 2 + 0.5));
      const got = quantize(x, m, k, { eps: 1e-6 });
      for (let row = 0; row < m; row++) {
        const ref = layerNormRef(x.subarray(row * k, (row + 1) * k), 1e-6);
        const s = got.scale[row] as number;
        for (let c = 0; c < k; c++) expect(Math.abs((got.q[row * k + c] as number) * s - (ref[c] as number))).toBeLessThanOrEqual(0.5 * s * 1.0001 + 2e-6);
      }
    }
  });

  it("affine LayerNorm (fp32 output) within 3e-6 of float64, gains 30x on a few channels included", () => {
    const r = rng(3);
    const [m, k] = [3, 101];
    const x = Float32Array.from({ length: m * k }, () => Math.fround(r.normal()));
    const gamma = Float32Array.from({ length: k }, (_, i) => (i % 17 === 0 ? 30 : 1 + 0.1 * r.normal()));
    const beta = Float32Array.from({ length: k }, () => 0.1 * r.normal());
    const mark = K.arena.mark();
    const xp = K.putF32(x);
    const out = K.arena.alloc(m * k * 4);
    K.raw.layerNorm(xp, k, m, k, K.putF32(gamma), K.putF32(beta), 1e-6, out, k);
    const got = K.f32(out, m * k).slice();
    K.arena.release(mark);
    for (let row = 0; row < m; row++) {
      const ref = layerNormRef(x.subarray(row * k, (row + 1) * k), 1e-6, gamma, beta);
      for (let c = 0; c < k; c++) expect(Math.abs((got[row * k + c] as number) - (ref[c] as number))).toBeLessThanOrEqual(3e-6 * Math.max(1, Math.abs(ref[c] as number)));
    }
  });
});
