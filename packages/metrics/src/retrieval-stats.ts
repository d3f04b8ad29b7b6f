/**
 * Per-image ratio statistics of a retrieval result for the image bootstrap (audit-metrics.md §5): CIs and paired
 * differences come from the per-query ranks, never from recomputed similarities.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { RatioStat } from "./bootstrap.ts";
import type { RetrievalResult } from "./retrieval.ts";

/**
 * `[T→I R@k for each k, T→I MRR, I→T R@k for each k, I→T MRR]`, each as per-image sums: a caption counts for its
 * image (captions follow their image in a resample); an image without a query has denominator 0. The four T→I
 * statistics share one denominator array, as do the four I→T ones.
 * @param owner [texts] image of each original caption, @param nImages I
 */
export function retrievalRatioStats(perQuery: RetrievalResult["perQuery"], owner: ArrayLike<number>, nImages: number, ks: readonly number[] = [1, 5, 10]): RatioStat[] {
  const { texts, textToImageRanks: t2i, imageToTextRanks: i2t } = perQuery;
  if (t2i.length !== texts.length || i2t.length !== nImages) {
    throw new SiglipError("SHAPE_MISMATCH", `${t2i.length} T→I ranks for ${texts.length} queries, ${i2t.length} I→T ranks for ${nImages} images`);
  }
  const t2iNum = ks.map(() => new Float64Array(nImages));
  const t2iRr = new Float64Array(nImages);
  const t2iDen = new Float64Array(nImages);
  for (let q = 0; q < texts.length; q++) {
    const i = owner[texts[q] as number] as number;
    const rank = t2i[q] as number;
    ks.forEach((k, j) => (t2iNum[j]![i]! += rank <= k ? 1 : 0));
    t2iRr[i]! += 1 / rank;
    t2iDen[i]! += 1;
  }
  const i2tDen = Float64Array.from(i2t, (x) => (x > 0 ? 1 : 0));
  return [
    ...t2iNum.map((num) => ({ num, den: t2iDen })),
    { num: t2iRr, den: t2iDen },
    ...ks.map((k) => ({ num: Float64Array.from(i2t, (x) => (x > 0 && x <= k ? 1 : 0)), den: i2tDen })),
    { num: Float64Array.from(i2t, (x) => (x > 0 ? 1 / x : 0)), den: i2tDen },
  ];
}
