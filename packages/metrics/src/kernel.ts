/**
 * The matrix-product seam of the streamed retrieval: a kernel computes one tile `A · Bᵀ` of the similarity matrix.
 * This package ships a pure-JS kernel (runs everywhere); a native one (onnxruntime-node's MLAS, in
 * @siglip-edge/runtime/node) plugs in through the same interface on Node.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

/**
 * Computes `C = A · Bᵀ` for row-major float32 matrices. May be asynchronous (a native engine runs off the JS thread).
 * A kernel must not keep `a`, `b` or `out` after the call returns (or its promise settles).
 */
export interface SimilarityKernel {
  /** Reported with the results, e.g. "js" or "onnxruntime-node (MLAS, 2 threads)". */
  readonly name: string;
  /**
   * @param a [m, k] float32
   * @param b [n, k] float32
   * @param out scratch of at least m * n floats the kernel may write into and return
   * @returns C [m, n] float32 (often `out.subarray(0, m * n)`)
   */
  multiplyTransposed(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array): Float32Array | Promise<Float32Array>;
}

/** A kernel whose product is ready when the call returns (usable by the synchronous drivers). */
export interface SyncSimilarityKernel extends SimilarityKernel {
  multiplyTransposed(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array): Float32Array;
}

/** Throws SHAPE_MISMATCH unless a, b and out hold [m, k], [n, k] and at least [m, n] values. */
export function checkProductShapes(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array): void {
  if (a.length < m * k || b.length < n * k || out.length < m * n) {
    throw new SiglipError("SHAPE_MISMATCH", `product of [${m}, ${k}] and [${n}, ${k}]^T needs ${m * k}, ${n * k} and ${m * n} values, got ${a.length}, ${b.length} and ${out.length}`);
  }
}

/**
 * `out = A · Bᵀ` for row-major float32 matrices. Register-blocked 4 x 4: each pass over k loads four rows of A and
 * four rows of B for sixteen products, twice the throughput of a plain loop in V8. Accumulates in float64 (JS
 * numbers), one rounding to float32 per element, so every element is the same whatever the tile shape.
 * @param a [m, k], @param b [n, k], @param out [m, n] (written)
 */
export function dotRowsInto(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array): Float32Array {
  checkProductShapes(a, m, b, n, k, out);
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    for (let t = 0; t < n4; t += 4) {
      const b0 = t * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0; // prettier-ignore
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0; // prettier-ignore
      for (let d = 0; d < k; d++) {
        const x0 = a[a0 + d]!;
        const x1 = a[a1 + d]!;
        const x2 = a[a2 + d]!;
        const x3 = a[a3 + d]!;
        const y0 = b[b0 + d]!;
        const y1 = b[b1 + d]!;
        const y2 = b[b2 + d]!;
        const y3 = b[b3 + d]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3; // prettier-ignore
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3; // prettier-ignore
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3; // prettier-ignore
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3; // prettier-ignore
      }
      const o0 = i * n + t;
      const o1 = o0 + n;
      const o2 = o1 + n;
      const o3 = o2 + n;
      out[o0] = s00; out[o0 + 1] = s01; out[o0 + 2] = s02; out[o0 + 3] = s03; // prettier-ignore
      out[o1] = s10; out[o1 + 1] = s11; out[o1 + 2] = s12; out[o1 + 3] = s13; // prettier-ignore
      out[o2] = s20; out[o2 + 1] = s21; out[o2 + 2] = s22; out[o2 + 3] = s23; // prettier-ignore
      out[o3] = s30; out[o3 + 1] = s31; out[o3 + 2] = s32; out[o3 + 3] = s33; // prettier-ignore
    }
  }
  // Edges: the last m % 4 rows (all columns) and the last n % 4 columns of the blocked rows.
  const one = (i: number, t: number): void => {
    let s = 0;
    for (let d = 0; d < k; d++) s += a[i * k + d]! * b[t * k + d]!;
    out[i * n + t] = s;
  };
  for (let i = 0; i < m4; i++) for (let t = n4; t < n; t++) one(i, t);
  for (let i = m4; i < m; i++) for (let t = 0; t < n; t++) one(i, t);
  return out.subarray(0, m * n);
}

/** The portable kernel: {@link dotRowsInto} on the calling thread. */
export const jsKernel: SyncSimilarityKernel = {
  name: "js (4x4 register-blocked, float64 accumulation, 1 thread)",
  multiplyTransposed: dotRowsInto,
};
