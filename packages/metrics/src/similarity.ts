/**
 * Cosine similarity matrices between image and text embeddings, the input of every retrieval and bias metric.
 * @module
 */
import { assertShape, SiglipError, type Tensor } from "@siglip-edge/core";
import { dotRowsInto } from "./kernel.ts";

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
  for (let r = 0; r < N; r++) normalizeRowInto(t.data, r, D, out, r);
  return out;
}

/**
 * Writes row `r` of `src` ([*, D]) divided by its L2 norm into row `to` of `out`, exactly as {@link normalizeRows}
 * does (float64 sum of squares, one rounding per value). A zero or non-finite norm raises `INVALID_ARGUMENT`.
 */
export function normalizeRowInto(src: Float32Array, r: number, D: number, out: Float32Array, to: number): void {
  const from = r * D;
  let ss = 0;
  for (let k = 0; k < D; k++) {
    const v = src[from + k] as number;
    ss += v * v;
  }
  const norm = Math.sqrt(ss);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new SiglipError("INVALID_ARGUMENT", `embedding row ${r} has norm ${norm}; cosine similarity is undefined`);
  }
  for (let k = 0; k < D; k++) out[to * D + k] = (src[from + k] as number) / norm;
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
 * `A @ B^T` for row-major float32 matrices already normalised, as a full matrix ({@link dotRowsInto}; the streamed
 * retrieval in retrieval-stream.ts never materialises it).
 * @param a [I, D]
 * @param b [T, D]
 * @returns [I, T]
 */
export function dotRows(a: Float32Array, I: number, b: Float32Array, T: number, D: number): SimilarityMatrix {
  return { data: dotRowsInto(a, I, b, T, D, new Float32Array(I * T)), rows: I, cols: T };
}
