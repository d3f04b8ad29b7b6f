/**
 * First- and second-order gender bias as SigLIP 2 and "CLIP the Bias" report it (audit-metrics.md §1.2):
 * representation bias `RB = |P(prefer "male" over "female") - 0.5|` on images of random objects, and association
 * bias `AB(a, b) = |P_female(prefer a over b) - P_male(prefer a over b)|` for occupation pairs.
 * @module
 */
import { assertShape, SiglipError, type Tensor } from "@siglip-edge/core";
import { normalizeRows } from "./similarity.ts";
import { wilsonInterval, type Interval } from "./stats.ts";

function unit(v: ArrayLike<number>, name: string): Float64Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += (v[i] as number) ** 2;
  const n = Math.sqrt(ss);
  if (!(n > 0) || !Number.isFinite(n)) throw new SiglipError("INVALID_ARGUMENT", `${name} has norm ${n}`);
  return Float64Array.from(v as ArrayLike<number>, (x) => x / n);
}

export interface PreferenceOptions {
  /**
   * The image rows are already what `normalizeRows` returns for them: skip normalising them again (a caller
   * comparing many label pairs on one image set normalises once; the result is the same).
   */
  imagesNormalized?: boolean;
}

/**
 * Per-image margins `cos(x, a) − cos(x, b)` (float64 sums over the unit rows), the quantity behind
 * {@link preferenceHits}: an image prefers `a` exactly when its margin is > 0.
 * @param images [N, D] float32
 * @param a [D] text embedding of the first label
 * @param b [D] text embedding of the second label
 * @returns [N] float64
 */
export function preferenceMargins(images: Tensor<"float32">, a: ArrayLike<number>, b: ArrayLike<number>, opts: PreferenceOptions = {}): Float64Array {
  assertShape("images", images.dims, [null, a.length]);
  if (b.length !== a.length) throw new SiglipError("SHAPE_MISMATCH", `label embeddings differ in width: ${a.length} vs ${b.length}`);
  const [N, D] = images.dims as [number, number];
  const x = opts.imagesNormalized === true ? images.data : normalizeRows(images);
  const ua = unit(a, "first label embedding");
  const ub = unit(b, "second label embedding");
  const out = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    let sa = 0;
    let sb = 0;
    for (let k = 0; k < D; k++) {
      sa += (x[r * D + k] as number) * (ua[k] as number);
      sb += (x[r * D + k] as number) * (ub[k] as number);
    }
    // for finite doubles sa > sb exactly when sa - sb > 0 (a difference of distinct doubles never rounds to 0)
    out[r] = sa - sb;
  }
  return out;
}

/**
 * Per-image preference `cos(x, a) > cos(x, b)` (a strict win: a tie is not a preference for a).
 * @param images [N, D] float32
 * @param a [D] text embedding of the first label
 * @param b [D] text embedding of the second label
 * @returns [N] 0/1
 */
export function preferenceHits(images: Tensor<"float32">, a: ArrayLike<number>, b: ArrayLike<number>, opts: PreferenceOptions = {}): Uint8Array {
  return Uint8Array.from(preferenceMargins(images, a, b, opts), (m) => (m > 0 ? 1 : 0));
}

export interface RepresentationBias {
  n: number;
  /** Images whose embedding is closer to the first label ("male"). */
  preferFirst: number;
  /** `pM`: fraction of images preferring the first label. */
  rate: number;
  /** Wilson 95 % interval of `rate`. */
  rateCi: Interval;
  /** `RB = |pM - 0.5|` as a fraction; the paper prints it in % points (0.355 -> 35.5). */
  rb: number;
  /** Interval of RB mapped from `rateCi` (0 at the low end when the rate interval contains 0.5). */
  rbCi: Interval;
  /** [N] 0/1 per-image preference, for bootstrap and paired tests. */
  hits: Uint8Array;
}

/** Maps an interval of a rate p to the interval of |p - 0.5|. */
export function rbInterval(rateCi: Interval): Interval {
  const a = Math.abs(rateCi.lo - 0.5);
  const b = Math.abs(rateCi.hi - 0.5);
  const containsHalf = rateCi.lo <= 0.5 && rateCi.hi >= 0.5;
  return { lo: containsHalf ? 0 : Math.min(a, b), hi: Math.max(a, b) };
}

/**
 * Representation bias (§1.2): `pM = mean_x [cos(x, zM) > cos(x, zF)]`, `RB = |pM - 0.5|`.
 * @param images [N, D] float32 image embeddings of random objects (no people)
 * @param first [D] embedding of the first label ("male")
 * @param second [D] embedding of the second label ("female")
 */
export function representationBias(images: Tensor<"float32">, first: ArrayLike<number>, second: ArrayLike<number>, opts: PreferenceOptions = {}): RepresentationBias {
  const hits = preferenceHits(images, first, second, opts);
  const n = hits.length;
  if (n === 0) throw new SiglipError("INVALID_ARGUMENT", "representation bias needs at least one image");
  let k = 0;
  for (const h of hits) k += h;
  const rate = k / n;
  const rateCi = wilsonInterval(k, n);
  return { n, preferFirst: k, rate, rateCi, rb: Math.abs(rate - 0.5), rbCi: rbInterval(rateCi), hits };
}

export interface AssociationBias {
  /** Per group: images, images preferring the first occupation, that rate and its Wilson interval. */
  groups: Record<string, { n: number; preferFirst: number; rate: number; ci: Interval }>;
  /** `AB = |P[groupA] - P[groupB]|` (§1.2). */
  ab: number;
}

/**
 * Association bias for one occupation pair (§1.2): for each demographic group g, `P[g] = mean_{x in g}
 * [cos(x, a) > cos(x, b)]`; `AB = |P[groupA] - P[groupB]|`.
 * @param images [N, D] float32 image embeddings of people (FairFace-style)
 * @param groups [N] group label of each image (e.g. "Female" / "Male")
 * @param a [D] embedding of the first occupation (e.g. "nurse"), @param b [D] of the second (e.g. "doctor")
 * @param groupA the group whose rate comes first, @param groupB the other
 */
export function associationBias(
  images: Tensor<"float32">,
  groups: readonly string[],
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  groupA: string,
  groupB: string,
  opts: PreferenceOptions = {},
): AssociationBias {
  const hits = preferenceHits(images, a, b, opts);
  if (groups.length !== hits.length) throw new SiglipError("SHAPE_MISMATCH", `${groups.length} group labels for ${hits.length} images`);
  const out: AssociationBias["groups"] = {};
  for (const g of [groupA, groupB]) {
    let n = 0;
    let k = 0;
    groups.forEach((label, i) => {
      if (label === g) {
        n++;
        k += hits[i] as number;
      }
    });
    if (n === 0) throw new SiglipError("INVALID_ARGUMENT", `no image belongs to group "${g}"`);
    out[g] = { n, preferFirst: k, rate: k / n, ci: wilsonInterval(k, n) };
  }
  const pa = out[groupA]?.rate ?? Number.NaN;
  const pb = out[groupB]?.rate ?? Number.NaN;
  return { groups: out, ab: Math.abs(pa - pb) };
}
