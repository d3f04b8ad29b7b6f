import { describe, expect, it } from "vitest";
import { retrieval, selectCaptions } from "../src/retrieval.ts";
import { cosineSimilarityMatrix, type SimilarityMatrix } from "../src/similarity.ts";
import { tensor } from "@siglip-edge/core";

// 3 images, 4 captions; captions 0 and 1 describe image 0, caption 2 image 1, caption 3 image 2.
//            t0   t1   t2   t3
// img0     0.9  0.2  0.5  0.1
// img1     0.3  0.8  0.4  0.6
// img2     0.1  0.7  0.2  0.6
const S: SimilarityMatrix = {
  data: Float32Array.from([0.9, 0.2, 0.5, 0.1, 0.3, 0.8, 0.4, 0.6, 0.1, 0.7, 0.2, 0.6]),
  rows: 3,
  cols: 4,
};
const owner = [0, 0, 1, 2];

describe("retrieval (audit-metrics §5)", () => {
  it("all captions, optimistic ties: ranks and summaries worked out by hand", () => {
    const r = retrieval(S, owner, { captionPolicy: "all" });
    // T→I: t0 own 0.9, nothing above -> 1; t1 own 0.2, 0.8 and 0.7 above -> 3; t2 own 0.4, 0.5 above -> 2;
    // t3 own 0.6, img1 ties at 0.6 (not counted when optimistic) -> 1.
    expect(Array.from(r.perQuery.textToImageRanks)).toEqual([1, 3, 2, 1]);
    // R@1 = 2/4; MRR = (1 + 1/3 + 1/2 + 1)/4 = 0.708333; mean rank 7/4; median (1, 1, 2, 3) -> 1.5
    expect(r.textToImage.recall["1"]).toBeCloseTo(0.5, 12);
    expect(r.textToImage.recall["5"]).toBe(1);
    expect(r.textToImage.mrr).toBeCloseTo(0.7083333333, 9);
    expect(r.textToImage.meanRank).toBe(1.75);
    expect(r.textToImage.medianRank).toBe(1.5);
    // I→T: img0 best own caption 0.9 -> 1; img1 own 0.4, t1 0.8 and t3 0.6 above -> 3; img2 own 0.6, t1 0.7 above -> 2.
    expect(Array.from(r.perQuery.imageToTextRanks)).toEqual([1, 3, 2]);
    // R@1 = 1/3; MRR = (1 + 1/3 + 1/2)/3 = 0.611111; mean 2; median 2
    expect(r.imageToText.recall["1"]).toBeCloseTo(1 / 3, 12);
    expect(r.imageToText.mrr).toBeCloseTo(0.6111111111, 9);
    expect(r.imageToText.meanRank).toBe(2);
    expect(r.imageToText.medianRank).toBe(2);
    expect(r.textToImage.queries).toBe(4);
    expect(r.imageToText.candidates).toBe(4);
    console.log("retrieval hand case (all, optimistic):", JSON.stringify({ t2i: r.textToImage, i2t: r.imageToText }));
  });

  it("pessimistic ties count the tie at t3 against the caption", () => {
    const r = retrieval(S, owner, { ties: "pessimistic" });
    expect(Array.from(r.perQuery.textToImageRanks)).toEqual([1, 3, 2, 2]);
    // R@1 = 1/4, mean rank 2, median 2
    expect(r.textToImage.recall["1"]).toBe(0.25);
    expect(r.textToImage.meanRank).toBe(2);
    expect(r.textToImage.medianRank).toBe(2);
  });

  it("first-caption policy keeps caption 0 for image 0 and drops caption 1 from queries and gallery", () => {
    expect(Array.from(selectCaptions(owner, 3, "first"))).toEqual([0, 2, 3]);
    const r = retrieval(S, owner, { captionPolicy: "first" });
    // T→I ranks for t0, t2, t3: 1, 2, 1 -> R@1 = 2/3
    expect(Array.from(r.perQuery.textToImageRanks)).toEqual([1, 2, 1]);
    expect(r.textToImage.recall["1"]).toBeCloseTo(2 / 3, 12);
    // I→T over gallery {t0, t2, t3}: img0 -> 1; img1 own 0.4, t3 0.6 above -> 2; img2 own 0.6, nothing above -> 1.
    expect(Array.from(r.perQuery.imageToTextRanks)).toEqual([1, 2, 1]);
    // MRR = (1 + 1/2 + 1)/3 = 0.833333
    expect(r.imageToText.mrr).toBeCloseTo(0.8333333333, 9);
    expect(r.captionPolicy).toBe("first");
  });

  it("rejects a caption owner outside the image range with a typed error", () => {
    expect(() => retrieval(S, [0, 0, 1, 7])).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => retrieval(S, [0, 1])).toThrowError(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
  });

  it("cosine similarity normalises rows: [3,4]·[1,0] -> 0.6", () => {
    const s = cosineSimilarityMatrix(tensor("float32", [1, 2], Float32Array.from([3, 4])), tensor("float32", [2, 2], Float32Array.from([1, 0, 0, 2])));
    expect(s.data[0]).toBeCloseTo(0.6, 6);
    expect(s.data[1]).toBeCloseTo(0.8, 6);
    expect(() => cosineSimilarityMatrix(tensor("float32", [1, 2], new Float32Array(2)), tensor("float32", [1, 2], Float32Array.from([1, 0])))).toThrowError(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});

describe("dotRows (blocked kernel)", () => {
  it("matches a plain triple loop on ragged sizes", async () => {
    const { dotRows } = await import("../src/similarity.ts");
    const { createRng } = await import("../src/prng.ts");
    const rng = createRng(3);
    for (const [I, T, D] of [[7, 9, 5], [4, 4, 3], [1, 6, 2], [9, 1, 4]] as const) {
      const a = Float32Array.from({ length: I * D }, () => rng.next() - 0.5);
      const b = Float32Array.from({ length: T * D }, () => rng.next() - 0.5);
      const got = dotRows(a, I, b, T, D);
      for (let i = 0; i < I; i++) {
        for (let t = 0; t < T; t++) {
          let s = 0;
          for (let k = 0; k < D; k++) s += (a[i * D + k] as number) * (b[t * D + k] as number);
          expect(got.data[i * T + t]).toBeCloseTo(s, 6);
        }
      }
    }
  });
});
