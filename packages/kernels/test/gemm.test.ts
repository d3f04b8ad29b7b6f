import { beforeAll, describe, expect, it } from "vitest";
import { hasErrorCode } from "@siglip-edge/core";
import { loadKernels } from "../src/node.ts";
import type { Kernels, QuantizedRows } from "../src/kernels.ts";
import { AMAX, MAX_K, quantizeLinear } from "../src/weights.ts";
import { geluRef, matmulBigIntRef, matmulIntRef, packRows, rng } from "./reference.ts";

let K: Kernels;
beforeAll(async () => {
  K = await loadKernels();
});

const f = Math.fround;

/** Puts chosen int16 activations into a QuantizedRows (bypassing the quantiser) with the given row scales. */
function putRows(q: Int16Array, m: number, k: number, scales: Float32Array): QuantizedRows {
  const rows = K.allocRows(m, k);
  const packed = packRows(q, m, k);
  K.i16(rows.a, packed.length).set(packed);
  const rs = K.f32(rows.rowScale, Math.ceil(m / 4) * 4);
  rs.fill(0);
  rs.set(scales);
  return rows;
}

function randomCase(seed: number, m: number, k: number, n: number, amax = AMAX, wmax = 127) {
  const r = rng(seed);
  const a = Int16Array.from({ length: m * k }, () => r.int(-amax, amax));
  const w = Int8Array.from({ length: k * n }, () => r.int(-wmax, wmax));
  const rowScale = Float32Array.from({ length: m }, () => f(0.001 + r.uniform() * 0.01));
  const colScale = Float32Array.from({ length: n }, () => f(0.001 + r.uniform() * 0.02));
  const bias = Float32Array.from({ length: n }, () => f(r.normal()));
  return { a, w, rowScale, colScale, bias };
}

function rawGemm(a: Int16Array, w: Int8Array, m: number, k: number, n: number): Int32Array {
  const mark = K.arena.mark();
  const rows = putRows(a, m, k, new Float32Array(m));
  const lin = K.loadLinear({ k, n, q: w, scale: new Float32Array(n) });
  const out = K.arena.allocZeroed(m * n * 4);
  K.gemm(rows, lin, out, { rawInt32: true });
  const res = K.i32(out, m * n).slice();
  K.arena.release(mark);
  return res;
}

describe("W8A12 GEMM, integer accumulators", () => {
  it("equal the exact sums for every remainder shape of M, N and K", () => {
    let cases = 0;
    for (const m of [1, 2, 3, 4, 5, 7, 9]) {
      for (const n of [1, 3, 7, 8, 9, 15, 17]) {
        for (const k of [1, 2, 3, 7, 8, 9, 17, 33]) {
          const c = randomCase(m * 10007 + n * 101 + k, m, k, n);
          const got = rawGemm(c.a, c.w, m, k, n);
          const want = matmulIntRef(c.a, c.w, m, k, n);
          expect(Array.from(got)).toEqual(Array.from(want));
          cases++;
        }
      }
    }
    expect(cases).toBe(392);
  });

  it("equal the exact sums at a ViT shape (M = 197, K = 768, N = 72)", () => {
    const [m, k, n] = [197, 768, 72];
    const c = randomCase(7, m, k, n);
    expect(Array.from(rawGemm(c.a, c.w, m, k, n))).toEqual(Array.from(matmulIntRef(c.a, c.w, m, k, n)));
  });

  it("do not overflow at max magnitude, K = MAX_K (2047 * 127 * K < 2^31)", () => {
    expect(MAX_K).toBe(8260);
    const [m, k, n] = [5, MAX_K, 9];
    const a = new Int16Array(m * k);
    const w = new Int8Array(k * n);
    for (let r = 0; r < m; r++) for (let i = 0; i < k; i++) a[r * k + i] = r === 1 ? -AMAX : r === 3 ? (i % 2 ? AMAX : -AMAX) : AMAX;
    for (let i = 0; i < k; i++) for (let c = 0; c < n; c++) w[i * n + c] = c === 2 ? -127 : c === 5 ? (i % 2 ? 127 : -127) : 127;
    const got = rawGemm(a, w, m, k, n);
    const want = matmulBigIntRef(a, w, m, k, n);
    expect(want[0]).toBe(BigInt(AMAX * 127 * MAX_K)); // 2147360210, just under 2^31
    expect(Array.from(got, BigInt)).toEqual(want);
  });
});

describe("W8A12 GEMM, fused epilogue", () => {
  function run(m: number, k: number, n: number, opts: { gelu?: boolean; residual?: boolean }, seed: number) {
    const c = randomCase(seed, m, k, n);
    const mark = K.arena.mark();
    const rows = putRows(c.a, m, k, c.rowScale);
    const lin = K.loadLinear({ k, n, q: c.w, scale: c.colScale, bias: c.bias });
    const res = Float32Array.from({ length: m * n }, (_, i) => f(Math.sin(i)));
    const out = K.putF32(res);
    K.gemm(rows, lin, out, { gelu: opts.gelu ?? false, ...(opts.residual === true ? { residual: out } : {}) });
    const got = K.f32(out, m * n).slice();
    K.arena.release(mark);
    const acc = matmulIntRef(c.a, c.w, m, k, n);
    return { got, acc, c, res };
  }

  it("scale and bias are bit-exact with f32 arithmetic (acc * colScale * rowScale + bias, then + residual)", () => {
    for (const [m, k, n] of [[5, 37, 19], [8, 64, 16], [3, 768, 9]] as const) {
      const { got, acc, c, res } = run(m, k, n, { residual: true }, m + k + n);
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < n; j++) {
          const y = f(f(f(f(acc[r * n + j] as number) * (c.colScale[j] as number)) * (c.rowScale[r] as number)) + (c.bias[j] as number));
          expect(got[r * n + j]).toBe(f(y + (res[r * n + j] as number)));
        }
      }
    }
  });

  it("GELU is within 2e-7 + 4e-7 |y| of gelu_pytorch_tanh in float64", () => {
    const { got, acc, c } = run(9, 50, 21, { gelu: true }, 3);
    let worst = 0;
    for (let r = 0; r < 9; r++) {
      for (let j = 0; j < 21; j++) {
        const y = f(f(f(f(acc[r * 21 + j] as number) * (c.colScale[j] as number)) * (c.rowScale[r] as number)) + (c.bias[j] as number));
        const want = geluRef(y);
        worst = Math.max(worst, Math.abs((got[r * 21 + j] as number) - want) / (2e-7 + 4e-7 * Math.abs(y)));
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it("writes only the valid rows and columns of a partial block", () => {
    const [m, k, n, ldo] = [5, 4, 11, 16];
    const c = randomCase(11, m, k, n);
    const mark = K.arena.mark();
    const rows = putRows(c.a, m, k, c.rowScale);
    const lin = K.loadLinear({ k, n, q: c.w, scale: c.colScale, bias: c.bias });
    const out = K.putF32(new Float32Array((m + 3) * ldo).fill(-7));
    K.gemm(rows, lin, out, { ldo });
    const got = K.f32(out, (m + 3) * ldo);
    for (let r = 0; r < m + 3; r++) for (let j = 0; j < ldo; j++) if (r >= m || j >= n) expect(got[r * ldo + j]).toBe(-7);
    K.arena.release(mark);
  });
});

describe("weights and errors", () => {
  it("quantizeLinear: per-column scale max|w| / 127, both layouts agree", () => {
    const r = rng(5);
    const [k, n] = [13, 6];
    const kn = Float32Array.from({ length: k * n }, () => r.normal());
    const nk = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) nk[j * k + i] = kn[i * n + j] as number;
    const a = quantizeLinear(kn, k, n, "kn");
    const b = quantizeLinear(nk, k, n, "nk");
    expect(Array.from(a.q)).toEqual(Array.from(b.q));
    for (let j = 0; j < n; j++) {
      let mx = 0;
      for (let i = 0; i < k; i++) mx = Math.max(mx, Math.abs(kn[i * n + j] as number));
      expect(a.scale[j]).toBe(f(mx / 127));
      for (let i = 0; i < k; i++) expect(Math.abs((a.q[i * n + j] as number) * (a.scale[j] as number) - (kn[i * n + j] as number))).toBeLessThanOrEqual((a.scale[j] as number) * 0.5 + 1e-7);
    }
  });

  it("rejects K past the exact-accumulation bound and mismatched shapes with typed errors", () => {
    const big = MAX_K + 1;
    expect(() => K.loadLinear({ k: big, n: 1, q: new Int8Array(big), scale: new Float32Array(1) })).toThrow(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
    const mark = K.arena.mark();
    const rows = K.allocRows(2, 8);
    const lin = K.loadLinear({ k: 9, n: 2, q: new Int8Array(18), scale: new Float32Array(2) });
    let err: unknown;
    try {
      K.gemm(rows, lin, 0);
    } catch (e) {
      err = e;
    }
    expect(hasErrorCode(err, "SHAPE_MISMATCH")).toBe(true);
    K.arena.release(mark);
  });
});
