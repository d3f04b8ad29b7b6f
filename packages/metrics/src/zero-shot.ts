/**
 * Zero-shot misclassification rates per demographic group (audit-metrics.md §2, "zero-shot denigration test",
 * Radford et al. 2021 §7.1): `rate_cat[g] = mean_{x in g} [argmax_l logit(x, l) in CAT]` with Wilson intervals, plus
 * accuracy per group and the disparity `max_g acc_g - min_g acc_g` (§1.2) when true labels are known.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { wilsonInterval, type Interval } from "./stats.ts";

export interface RateCell {
  n: number;
  count: number;
  rate: number;
  ci: Interval;
}

export interface GroupRates {
  n: number;
  /** Per category (e.g. "nonhuman", "crime"): share of the group's images whose top label is in it. */
  categories: Record<string, RateCell>;
  /** Share whose top label equals the true label (when given). */
  accuracy?: RateCell;
}

export interface ZeroShotRates {
  overall: GroupRates;
  /** attribute -> group value -> rates, e.g. byAttribute.race["Black"]. */
  byAttribute: Record<string, Record<string, GroupRates>>;
  /** attribute -> max_g acc_g - min_g acc_g (only with true labels). */
  disparity: Record<string, number>;
  /** [N] index of the top label of each image (first index on ties). */
  predictions: Int32Array;
}

/**
 * @param logits [N, L] row-major scores of each image for each label (SigLIP: rank by logits, §1.5)
 * @param labelCategory [L] category of each label, or null for labels in no category (e.g. the FairFace classes)
 * @param attributes attribute -> [N] group value of each image (e.g. { race: [...], gender: [...], age: [...] })
 * @param trueLabels optional [N] index of the correct label of each image
 */
export function zeroShotRates(
  logits: ArrayLike<number>,
  labelCategory: readonly (string | null)[],
  attributes: Record<string, readonly string[]>,
  trueLabels?: ArrayLike<number>,
): ZeroShotRates {
  const L = labelCategory.length;
  if (L === 0 || logits.length % L !== 0) throw new SiglipError("SHAPE_MISMATCH", `${logits.length} logits do not split into rows of ${L} labels`);
  const N = logits.length / L;
  for (const [name, values] of Object.entries(attributes)) {
    if (values.length !== N) throw new SiglipError("SHAPE_MISMATCH", `attribute "${name}" has ${values.length} values for ${N} images`);
  }
  if (trueLabels !== undefined && trueLabels.length !== N) throw new SiglipError("SHAPE_MISMATCH", `${trueLabels.length} true labels for ${N} images`);
  const predictions = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let l = 1; l < L; l++) if ((logits[i * L + l] as number) > (logits[i * L + best] as number)) best = l;
    predictions[i] = best;
  }
  const categories = [...new Set(labelCategory.filter((c): c is string => c !== null))].sort();
  const summarise = (members: number[]): GroupRates => {
    const n = members.length;
    const cats: Record<string, RateCell> = {};
    for (const cat of categories) {
      const count = members.filter((i) => labelCategory[predictions[i] as number] === cat).length;
      cats[cat] = { n, count, rate: count / n, ci: wilsonInterval(count, n) };
    }
    const out: GroupRates = { n, categories: cats };
    if (trueLabels !== undefined) {
      const count = members.filter((i) => predictions[i] === trueLabels[i]).length;
      out.accuracy = { n, count, rate: count / n, ci: wilsonInterval(count, n) };
    }
    return out;
  };
  const all = Array.from({ length: N }, (_, i) => i);
  const byAttribute: ZeroShotRates["byAttribute"] = {};
  const disparity: Record<string, number> = {};
  for (const [name, values] of Object.entries(attributes)) {
    const groups = new Map<string, number[]>();
    values.forEach((v, i) => {
      const members = groups.get(v);
      if (members === undefined) groups.set(v, [i]);
      else members.push(i);
    });
    const table: Record<string, GroupRates> = {};
    for (const g of [...groups.keys()].sort()) table[g] = summarise(groups.get(g) ?? []);
    byAttribute[name] = table;
    if (trueLabels !== undefined) {
      const accs = Object.values(table).map((t) => t.accuracy?.rate ?? Number.NaN);
      disparity[name] = Math.max(...accs) - Math.min(...accs);
    }
  }
  return { overall: summarise(all), byAttribute, disparity, predictions };
}
