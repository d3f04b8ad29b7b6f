/**
 * WEAT / iEAT / cross-modal embedding association test (audit-metrics.md §2; Caliskan et al. 2017, Steed &
 * Caliskan 2021, reference `ryansteed/weat` `weat/test.py`): effect size and one-sided permutation p-value.
 * @module
 */
import { assertShape, SiglipError, type Tensor } from "@siglip-edge/core";
import { createRng, shuffleInPlace } from "./prng.ts";
import { normalizeRows } from "./similarity.ts";
import { mean, sampleStd } from "./stats.ts";

export interface WeatOptions {
  /** Permutations for the p-value; the test is exact when C(|X|+|Y|, |X|) <= this. Default 10,000. */
  permutations?: number;
  seed?: number;
}

export interface WeatResult {
  /** `d = [mean_X s - mean_Y s] / std_{X u Y} s` (sample std, ddof 1). */
  effectSize: number;
  /** `P[sum_{X'} s >= sum_X s]` over re-partitions of X u Y (ties count, as in the reference). */
  p: number;
  /** True when every partition was enumerated. */
  exact: boolean;
  /** Partitions evaluated (including the observed one). */
  partitions: number;
  /** [|X|+|Y|] association s(w, A, B) of each target, X first. */
  associations: Float64Array;
}

/**
 * `s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b)` for every row w.
 * @param W [N, D] targets, @param A [P, D] attributes, @param B [Q, D] attributes
 * @returns [N] float64
 */
export function associations(W: Tensor<"float32">, A: Tensor<"float32">, B: Tensor<"float32">): Float64Array {
  assertShape("targets", W.dims, [null, null]);
  const D = W.dims[1] as number;
  assertShape("attributes A", A.dims, [null, D]);
  assertShape("attributes B", B.dims, [null, D]);
  const [N] = W.dims as [number];
  const [P] = A.dims as [number];
  const [Q] = B.dims as [number];
  if (P === 0 || Q === 0) throw new SiglipError("INVALID_ARGUMENT", "attribute sets A and B must not be empty");
  const w = normalizeRows(W);
  const a = normalizeRows(A);
  const b = normalizeRows(B);
  const meanCos = (row: number, m: Float32Array, M: number): number => {
    let s = 0;
    for (let j = 0; j < M; j++) {
      let dot = 0;
      for (let k = 0; k < D; k++) dot += (w[row * D + k] as number) * (m[j * D + k] as number);
      s += dot;
    }
    return s / M;
  };
  return Float64Array.from({ length: N }, (_, r) => meanCos(r, a, P) - meanCos(r, b, Q));
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * Effect size and permutation p-value from precomputed associations.
 * @param sX [|X|] s(x, A, B), @param sY [|Y|] s(y, A, B)
 */
export function weatFromAssociations(sX: ArrayLike<number>, sY: ArrayLike<number>, opts: WeatOptions = {}): WeatResult {
  const nX = sX.length;
  const nY = sY.length;
  if (nX === 0 || nY === 0) throw new SiglipError("INVALID_ARGUMENT", "target sets X and Y must not be empty");
  const all = Float64Array.from([...Array.from(sX), ...Array.from(sY)]);
  const effectSize = (mean(sX) - mean(sY)) / sampleStd(all);
  // Test statistic: sum over X' (sum_X' - sum_Y' = 2 sum_X' - const, so the ordering is the same).
  let observed = 0;
  for (let i = 0; i < nX; i++) observed += all[i] as number;
  const tol = 1e-12 * Math.max(1, Math.abs(observed)); // float sums in another order may differ in the last bits
  const permutations = opts.permutations ?? 10_000;
  const n = nX + nY;
  const total = binomial(n, nX);
  let atLeast = 0;
  let count = 0;
  if (total <= permutations) {
    // Enumerate every nX-subset of n (lexicographic combinations).
    const idx = Int32Array.from({ length: nX }, (_, i) => i);
    for (;;) {
      let s = 0;
      for (const i of idx) s += all[i] as number;
      if (s >= observed - tol) atLeast++;
      count++;
      let j = nX - 1;
      while (j >= 0 && idx[j] === n - nX + j) j--;
      if (j < 0) break;
      idx[j]!++;
      for (let l = j + 1; l < nX; l++) idx[l] = idx[l - 1]! + 1;
    }
    return { effectSize, p: atLeast / count, exact: true, partitions: count, associations: all };
  }
  // Monte Carlo: count the observed partition once (the reference's +1 bias), then permutations - 1 random ones.
  const rng = createRng(opts.seed ?? 0);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  atLeast = 1;
  count = 1;
  for (let r = 1; r < permutations; r++) {
    shuffleInPlace(perm, rng);
    let s = 0;
    for (let i = 0; i < nX; i++) s += all[perm[i] as number] as number;
    if (s >= observed - tol) atLeast++;
    count++;
  }
  return { effectSize, p: atLeast / count, exact: false, partitions: count, associations: all };
}

/**
 * WEAT / cross-modal EAT: X, Y targets (e.g. images of two groups), A, B attribute embeddings (e.g. text words).
 * @param X [nX, D], @param Y [nY, D], @param A [P, D], @param B [Q, D] float32
 */
export function weat(X: Tensor<"float32">, Y: Tensor<"float32">, A: Tensor<"float32">, B: Tensor<"float32">, opts: WeatOptions = {}): WeatResult {
  return weatFromAssociations(associations(X, A, B), associations(Y, A, B), opts);
}
