/**
 * Cluster bootstrap over images (audit-metrics.md §5): one resampling of image indices, drawn from a seed, is shared
 * by every language and model, so per-language CIs and paired model differences use the same resamples.
 * Every statistic is a ratio of per-image sums, `sum_i c_i num_i / sum_i c_i den_i` with `c_i` the multiplicity of
 * image i in the resample, so "captions follow their image" without materialising resampled caption lists.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { createRng } from "./prng.ts";
import { quantile, type Interval } from "./stats.ts";

/** A per-image ratio statistic: the estimate is `sum(num) / sum(den)`. */
export interface RatioStat {
  /** [nImages] per-image numerator (e.g. hits among the image's captions). */
  num: ArrayLike<number>;
  /** [nImages] per-image denominator (e.g. number of captions; 1 for per-image queries). */
  den: ArrayLike<number>;
}

export interface BootstrapOptions {
  /** Number of resamples B (§5: 1,000–10,000). */
  resamples: number;
  seed: number;
  /** Confidence level of the percentile interval, default 0.95. */
  level?: number;
}

/**
 * Draws `B` resamples of `n` images with replacement and calls `visit(counts, b)` with each image's multiplicity.
 * The same (n, B, seed) always yields the same sequence.
 * @param visit receives counts [n] int32 (reused between calls: copy to keep)
 */
export function forEachResample(n: number, resamples: number, seed: number, visit: (counts: Int32Array, b: number) => void): void {
  if (!Number.isInteger(n) || n <= 0) throw new SiglipError("INVALID_ARGUMENT", `bootstrap needs at least one image, got ${n}`);
  if (!Number.isInteger(resamples) || resamples <= 0) {
    throw new SiglipError("INVALID_ARGUMENT", `resamples must be a positive integer, got ${resamples}`);
  }
  const rng = createRng(seed);
  const counts = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[rng.int(n)]!++;
    visit(counts, b);
  }
}

/** Point estimate of a ratio statistic. */
export function ratioEstimate(s: RatioStat): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.num.length; i++) {
    num += s.num[i] as number;
    den += s.den[i] as number;
  }
  return num / den;
}

/**
 * Bootstrap replicates of several ratio statistics over the same image resamples.
 * @param stats each with num/den of length nImages
 * @returns [stats.length][B] float64 replicates
 */
export function bootstrapRatios(stats: readonly RatioStat[], opts: BootstrapOptions): Float64Array[] {
  const first = stats[0];
  if (first === undefined) return [];
  const n = first.num.length;
  for (const s of stats) {
    if (s.num.length !== n || s.den.length !== n) {
      throw new SiglipError("SHAPE_MISMATCH", `every statistic needs ${n} per-image values`);
    }
  }
  const S = stats.length;
  // Shared denominators (e.g. one caption count for every T→I statistic of a language) are summed once.
  const denIds = new Map<ArrayLike<number>, number>();
  const denOf = Int32Array.from(stats, (s) => denIds.get(s.den) ?? (denIds.set(s.den, denIds.size), denIds.size - 1));
  const dens = [...denIds.keys()];
  const U = dens.length;
  const nums = stats.map((s) => Float64Array.from(s.num));
  const denArrays = dens.map((d) => Float64Array.from(d));
  const out = stats.map(() => new Float64Array(opts.resamples));
  const idx = new Int32Array(n); // the resample's distinct images, ascending
  const mult = new Float64Array(n); // and their multiplicities
  const den = new Float64Array(U);
  const sum = (values: Float64Array, used: number): number => {
    let acc = 0;
    for (let p = 0; p < used; p++) acc += mult[p]! * values[idx[p]!]!;
    return acc;
  };
  forEachResample(n, opts.resamples, opts.seed, (counts, b) => {
    // Images in ascending order, zero multiplicities skipped: the same sums, in the same order, as a loop over all
    // images; the compact list is built once per resample instead of once per statistic.
    let used = 0;
    for (let i = 0; i < n; i++) {
      const c = counts[i]!;
      if (c !== 0) {
        idx[used] = i;
        mult[used++] = c;
      }
    }
    for (let u = 0; u < U; u++) den[u] = sum(denArrays[u]!, used);
    for (let j = 0; j < S; j++) out[j]![b] = sum(nums[j]!, used) / den[denOf[j]!]!;
  });
  return out;
}

/** Percentile interval of bootstrap replicates (§5: `percentile(2.5, 97.5)`), NaN replicates ignored. */
export function percentileInterval(replicates: ArrayLike<number>, level = 0.95): Interval {
  const finite = Array.from(replicates).filter((v) => Number.isFinite(v));
  return { lo: quantile(finite, (1 - level) / 2), hi: quantile(finite, 1 - (1 - level) / 2) };
}

/** Result of a paired bootstrap comparison A − B. */
export interface PairedBootstrap {
  delta: number;
  ci: Interval;
  /** §5: `p ≈ 2 min(P(Δ <= 0), P(Δ >= 0))`, capped at 1. */
  p: number;
}

/**
 * Paired comparison from replicates computed on the same resamples.
 * @param a [B] replicates of model A, @param b [B] replicates of model B, @param pointA/pointB full-sample estimates
 */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, pointA: number, pointB: number, level = 0.95): PairedBootstrap {
  if (a.length !== b.length) throw new SiglipError("SHAPE_MISMATCH", `replicate counts differ: ${a.length} vs ${b.length}`);
  const d = new Float64Array(a.length);
  let le = 0;
  let ge = 0;
  for (let i = 0; i < a.length; i++) {
    d[i] = (a[i] as number) - (b[i] as number);
    if (d[i]! <= 0) le++;
    if (d[i]! >= 0) ge++;
  }
  return { delta: pointA - pointB, ci: percentileInterval(d, level), p: Math.min(1, (2 * Math.min(le, ge)) / a.length) };
}
