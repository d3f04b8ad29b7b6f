/**
 * Cosine similarity matrices between image and text embeddings, the input of every retrieval and bias metric.
 * @module
 */
import { assertShape, SiglipError, type Tensor } from "@siglip-edge/core";

/** A row-major similarity matrix `S[i, t]` with its sizes. */
export interface SimilarityMatrix {
  /** [rows, cols] float32, row-major */
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * Returns each row of a [N, D] float32 tensor divided by its L2 norm, as float32 (float64 accumulation).
 * A zero row raises `INVALID_ARGUMENT`: its cosine with anything is undefined.
 * @param t [N, D] float32
 * @returns [N, D] float32
 */
export function normalizeRows(t: Tensor<"float32">): Float32Array {
  assertShape("embeddings", t.dims, [null, null]);
  const [N, D] = t.dims as [number, number];
  const out = new Float32Array(N * D);
  for (let r = 0; r < N; r++) {
    let ss = 0;
    for (let k = 0; k < D; k++) ss += (t.data[r * D + k] as number) ** 2;
    const norm = Math.sqrt(ss);
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new SiglipError("INVALID_ARGUMENT", `embedding row ${r} has norm ${norm}; cosine similarity is undefined`);
    }
    for (let k = 0; k < D; k++) out[r * D + k] = (t.data[r * D + k] as number) / norm;
  }
  return out;
}

/**
 * Cosine similarities `S = norm(A) @ norm(B)^T`.
 * @param a [I, D] float32 (e.g. images)
 * @param b [T, D] float32 (e.g. texts)
 * @returns S [I, T] float32
 */
export function cosineSimilarityMatrix(a: Tensor<"float32">, b: Tensor<"float32">): SimilarityMatrix {
  assertShape("a", a.dims, [null, null]);
  assertShape("b", b.dims, [null, null]);
  const [I, D] = a.dims as [number, number];
  const [T, D2] = b.dims as [number, number];
  if (D !== D2) throw new SiglipError("SHAPE_MISMATCH", `embedding widths differ: ${D} and ${D2}`);
  return dotRows(normalizeRows(a), I, normalizeRows(b), T, D);
}

/**
 * `A @ B^T` for row-major float32 matrices already normalised. Four B rows per pass so each A row is read once per
 * four outputs (the hot loop of the 3,600 x 36-language benchmark).
 * @param a [I, D]
 * @param b [T, D]
 * @returns [I, T]
 */
export function dotRows(a: Float32Array, I: number, b: Float32Array, T: number, D: number): SimilarityMatrix {
  const out = new Float32Array(I * T);
  for (let i = 0; i < I; i++) {
    const ai = i * D;
    let t = 0;
    for (; t + 3 < T; t += 4) {
      const b0 = t * D;
      const b1 = b0 + D;
      const b2 = b1 + D;
      const b3 = b2 + D;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < D; k++) {
        const x = a[ai + k]!;
        s0 += x * b[b0 + k]!;
        s1 += x * b[b1 + k]!;
        s2 += x * b[b2 + k]!;
        s3 += x * b[b3 + k]!;
      }
      out[i * T + t] = s0;
      out[i * T + t + 1] = s1;
      out[i * T + t + 2] = s2;
      out[i * T + t + 3] = s3;
    }
    for (; t < T; t++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += a[ai + k]! * b[t * D + k]!;
      out[i * T + t] = s;
    }
  }
  return { data: out, rows: I, cols: T };
}
