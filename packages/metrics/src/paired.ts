/**
 * Paired significance tests for model comparisons (audit-metrics.md §5): exact McNemar on per-query hits, Wilcoxon
 * signed-rank across languages, Holm's step-down correction for the 36 per-language comparisons.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { averageRanks } from "./stats.ts";

export interface McNemarResult {
  /** Queries A got right and B got wrong. */
  b: number;
  /** Queries A got wrong and B got right. */
  c: number;
  /** Exact two-sided p: `min(1, 2 P(X <= min(b, c)))`, X ~ Binomial(b + c, 1/2). */
  p: number;
}

/**
 * Exact McNemar test on paired binary outcomes (e.g. R@1 hits of two models on the same queries).
 * @param hitsA [Q] 0/1, @param hitsB [Q] 0/1
 */
export function mcnemarExact(hitsA: ArrayLike<number | boolean>, hitsB: ArrayLike<number | boolean>): McNemarResult {
  if (hitsA.length !== hitsB.length) throw new SiglipError("SHAPE_MISMATCH", `query counts differ: ${hitsA.length} vs ${hitsB.length}`);
  let b = 0;
  let c = 0;
  for (let q = 0; q < hitsA.length; q++) {
    const a = Boolean(hitsA[q]);
    const bb = Boolean(hitsB[q]);
    if (a && !bb) b++;
    else if (!a && bb) c++;
  }
  const n = b + c;
  if (n === 0) return { b, c, p: 1 };
  // P(X <= k) summed in log space so n in the thousands does not underflow term by term.
  const k = Math.min(b, c);
  let logTerm = -n * Math.LN2; // log C(n,0) 0.5^n
  let cdf = Math.exp(logTerm);
  for (let j = 1; j <= k; j++) {
    logTerm += Math.log((n - j + 1) / j);
    cdf += Math.exp(logTerm);
  }
  return { b, c, p: Math.min(1, 2 * cdf) };
}

export interface WilcoxonResult {
  /** Number of non-zero differences used. */
  n: number;
  /** Sum of ranks of positive differences. */
  wPlus: number;
  /** Sum of ranks of negative differences. */
  wMinus: number;
  /** Exact two-sided p from the sign-flip distribution of the (tie-averaged) ranks. */
  p: number;
}

/**
 * Wilcoxon signed-rank test on paired values (e.g. per-language recall of models A and B). Zero differences are
 * dropped (Wilcoxon's method); tied |d| get average ranks; the p-value is exact: the null distribution of W+ is
 * enumerated by dynamic programming over the 2^n sign flips, with ranks doubled so half-ranks stay integers.
 * @param a [n] values of A, @param b [n] values of B
 */
export function wilcoxonSignedRank(a: ArrayLike<number>, b: ArrayLike<number>): WilcoxonResult {
  if (a.length !== b.length) throw new SiglipError("SHAPE_MISMATCH", `pair counts differ: ${a.length} vs ${b.length}`);
  const d: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const di = (a[i] as number) - (b[i] as number);
    if (Number.isNaN(di)) throw new SiglipError("INVALID_ARGUMENT", `pair ${i} has a NaN value`);
    if (di !== 0) d.push(di);
  }
  const n = d.length;
  if (n === 0) return { n, wPlus: 0, wMinus: 0, p: 1 };
  const ranks = averageRanks(d.map(Math.abs));
  const r2 = Array.from(ranks, (r) => Math.round(2 * r)); // doubled ranks: integers
  let wPlus2 = 0;
  for (let i = 0; i < n; i++) if ((d[i] as number) > 0) wPlus2 += r2[i] as number;
  const total2 = r2.reduce((s, r) => s + r, 0);
  // counts[s] = number of sign assignments with doubled W+ = s; probabilities as float64 fractions of 2^n.
  let dist = new Float64Array(total2 + 1);
  dist[0] = 1;
  for (const r of r2) {
    const next = new Float64Array(total2 + 1);
    for (let s = 0; s <= total2; s++) {
      const v = dist[s] as number;
      if (v === 0) continue;
      next[s] = (next[s] as number) + v * 0.5;
      next[s + r] = (next[s + r] as number) + v * 0.5;
    }
    dist = next;
  }
  let le = 0;
  let ge = 0;
  for (let s = 0; s <= total2; s++) {
    if (s <= wPlus2) le += dist[s] as number;
    if (s >= wPlus2) ge += dist[s] as number;
  }
  return { n, wPlus: wPlus2 / 2, wMinus: (total2 - wPlus2) / 2, p: Math.min(1, 2 * Math.min(le, ge)) };
}

/**
 * Holm's step-down adjusted p-values: `adj_(j) = max_{l <= j} min(1, (m - l + 1) p_(l))` in ascending order of p,
 * returned in the input order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(m).fill(Number.NaN);
  let running = 0;
  order.forEach(([p, i], j) => {
    running = Math.max(running, Math.min(1, (m - j) * p));
    out[i] = running;
  });
  return out;
}
