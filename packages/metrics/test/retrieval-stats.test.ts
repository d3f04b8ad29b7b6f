import { describe, expect, it } from "vitest";
import { ratioEstimate } from "../src/bootstrap.ts";
import { retrieval } from "../src/retrieval.ts";
import { retrievalRatioStats } from "../src/retrieval-stats.ts";

describe("retrievalRatioStats (per-image sums for the image bootstrap)", () => {
  // The hand case of retrieval.test.ts: T→I ranks [1, 3, 2, 1] for captions of images [0, 0, 1, 2]; I→T ranks [1, 3, 2].
  const S = { data: Float32Array.from([0.9, 0.2, 0.5, 0.1, 0.3, 0.8, 0.4, 0.6, 0.1, 0.7, 0.2, 0.6]), rows: 3, cols: 4 };
  const owner = [0, 0, 1, 2];
  const r = retrieval(S, owner);

  it("puts each caption's hit on its image and reproduces the point estimates", () => {
    const stats = retrievalRatioStats(r.perQuery, owner, 3, [1, 5]);
    expect(stats).toHaveLength(6);
    // T→I R@1: image 0 has captions at ranks 1 and 3 -> 1 of 2; image 1 rank 2 -> 0 of 1; image 2 rank 1 -> 1 of 1
    expect(Array.from(stats[0]!.num)).toEqual([1, 0, 1]);
    expect(Array.from(stats[0]!.den)).toEqual([2, 1, 1]);
    // T→I MRR sums: image 0: 1 + 1/3, image 1: 1/2, image 2: 1
    expect(Array.from(stats[2]!.num)).toEqual([1 + 1 / 3, 0.5, 1]);
    // I→T R@1 per image: ranks [1, 3, 2] -> [1, 0, 0]; MRR [1, 1/3, 1/2]
    expect(Array.from(stats[3]!.num)).toEqual([1, 0, 0]);
    expect(Array.from(stats[5]!.num)).toEqual([1, 1 / 3, 0.5]);
    expect(ratioEstimate(stats[0]!)).toBe(r.textToImage.recall["1"]);
    expect(ratioEstimate(stats[2]!)).toBeCloseTo(r.textToImage.mrr, 12);
    expect(ratioEstimate(stats[4]!)).toBe(r.imageToText.recall["5"]);
    expect(stats[0]!.den).toBe(stats[1]!.den); // shared: the bootstrap sums it once
  });

  it("gives an image without a query denominator 0 and rejects misaligned ranks", () => {
    const noCaption = [0, 0, 1, 1]; // image 2 has no caption: neither a T→I owner nor an I→T query
    const stats = retrievalRatioStats(retrieval(S, noCaption).perQuery, noCaption, 3);
    expect(Array.from(stats[0]!.den)).toEqual([2, 2, 0]);
    expect(Array.from(stats[4]!.den)).toEqual([1, 1, 0]);
    expect(() => retrievalRatioStats(r.perQuery, owner, 4)).toThrowError(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
  });
});
