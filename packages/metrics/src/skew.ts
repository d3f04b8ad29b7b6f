/**
 * Ranking bias of a text query over labelled images (audit-metrics.md §2, Geyik et al. 2019 as implemented in
 * oxai/debias-vision-lang `measuring_bias.py`): MaxSkew@k and NDKL, against a uniform target ("eq_opp") or the
 * dataset prior ("dem_par").
 * @module
 */
import { SiglipError } from "@siglip-edge/core";

/** "uniform": `p*(a) = 1/|labels|` (eq_opp); "prior": `p*(a) = count(a)/N` (dem_par). */
export type SkewTarget = "uniform" | "prior";

interface Prepared {
  labels: string[];
  /** [N] label index of each image */
  codes: Int32Array;
  counts: Float64Array;
  /** image indices sorted by score descending, ties by lower index */
  order: Int32Array;
}

function prepare(scores: ArrayLike<number>, groups: readonly string[], k: number): Prepared {
  const N = scores.length;
  if (groups.length !== N) throw new SiglipError("SHAPE_MISMATCH", `${groups.length} labels for ${N} scores`);
  if (!Number.isInteger(k) || k < 1 || k > N) throw new SiglipError("INVALID_ARGUMENT", `k must be in [1, ${N}], got ${k}`);
  const labels = [...new Set(groups)].sort(); // label order as the reference sorts Counter items
  const index = new Map(labels.map((l, i) => [l, i]));
  const codes = Int32Array.from(groups, (g) => index.get(g) ?? -1);
  const counts = new Float64Array(labels.length);
  for (const c of codes) counts[c] = (counts[c] as number) + 1;
  const order = Int32Array.from({ length: N }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return { labels, codes, counts, order };
}

function targetDist(p: Prepared, N: number, target: SkewTarget): Float64Array {
  const G = p.labels.length;
  // the reference floors a zero count at 1 for dem_par; with labels taken from the data no count is zero
  return Float64Array.from(p.counts, (c) => (target === "uniform" ? 1 / G : Math.max(c, 1) / N));
}

/**
 * MaxSkew@k for one query: `max_a ln(p_k(a) / p*(a))` with `p_k(a)` the share of label a among the k
 * highest-scoring images (a share of 0 is replaced by 1/k, as in the reference, to avoid ln 0). Ties at the cut are
 * broken by lower image index so exactly k images count.
 * @param scores [N] similarity of each image to the query
 * @param groups [N] attribute label of each image
 */
export function maxSkewAtK(scores: ArrayLike<number>, groups: readonly string[], k: number, target: SkewTarget = "uniform"): number {
  const p = prepare(scores, groups, k);
  const want = targetDist(p, scores.length, target);
  const top = new Float64Array(p.labels.length);
  for (let r = 0; r < k; r++) top[p.codes[p.order[r] as number] as number]! += 1;
  let best = 0; // the reference starts its running max at 0
  for (let a = 0; a < p.labels.length; a++) {
    const share = (top[a] as number) === 0 ? 1 / k : (top[a] as number) / k;
    best = Math.max(best, Math.log(share) - Math.log(want[a] as number));
  }
  return best;
}

/**
 * Normalised discounted KL divergence for one query:
 * `NDKL = (1/Z) sum_{i=1..k} KL(D_top-i || p*) / log2(i + 1)`, `Z = sum_{i=1..k} 1/log2(i + 1)`, KL in nats with
 * `0 ln 0 = 0`.
 * @param scores [N] similarity of each image to the query
 * @param groups [N] attribute label of each image
 */
export function ndkl(scores: ArrayLike<number>, groups: readonly string[], k: number, target: SkewTarget = "uniform"): number {
  const p = prepare(scores, groups, k);
  const want = targetDist(p, scores.length, target);
  const top = new Float64Array(p.labels.length);
  let acc = 0;
  let z = 0;
  for (let i = 1; i <= k; i++) {
    top[p.codes[p.order[i - 1] as number] as number]! += 1;
    let kl = 0;
    for (let a = 0; a < top.length; a++) {
      const pa = (top[a] as number) / i;
      if (pa !== 0) kl += pa * (Math.log(pa) - Math.log(want[a] as number));
    }
    acc += kl / Math.log2(i + 1);
    z += 1 / Math.log2(i + 1);
  }
  return acc / z;
}
