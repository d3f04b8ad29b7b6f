import { describe, expect, it } from "vitest";
import { tensor } from "@siglip-edge/core";
import { retrieval } from "../src/retrieval.ts";
import { cosineSimilarityMatrix } from "../src/similarity.ts";
import { densify, plantedRanks, plantRetrieval } from "../src/testing/planted.ts";

describe("planted retrieval data", () => {
  const plant = plantRetrieval({ images: 40, captionsPerImage: 2, dim: 48, seed: 1, top1: 0.3, hubs: 5, tieShare: 0.4 });
  const S = cosineSimilarityMatrix(tensor("float32", [40, 48], densify(plant.images)), tensor("float32", [80, 48], densify(plant.texts)));

  it("has only the five similarity levels 0, 1, 1.5, 2 and 2.5 (/32), exactly", () => {
    expect([...new Set(S.data)].sort()).toEqual([0, 1 / 32, 1.5 / 32, 2 / 32, 2.5 / 32]);
  });

  it("implies the ranks the full similarity matrix gives, in every policy", () => {
    for (const captionPolicy of ["all", "first"] as const) {
      for (const ties of ["optimistic", "pessimistic"] as const) {
        const want = retrieval(S, plant.owner, { captionPolicy, ties });
        const got = plantedRanks(plant, captionPolicy, ties);
        expect(Array.from(got.texts)).toEqual(Array.from(want.perQuery.texts));
        expect(Array.from(got.textToImageRanks)).toEqual(Array.from(want.perQuery.textToImageRanks));
        expect(Array.from(got.imageToTextRanks)).toEqual(Array.from(want.perQuery.imageToTextRanks));
      }
    }
  });

  it("is a function of its options, shares images across layoutSeed, and plants both ties and ranks above 1", () => {
    const again = plantRetrieval({ images: 40, captionsPerImage: 2, dim: 48, seed: 1, top1: 0.3, hubs: 5, tieShare: 0.4 });
    expect(Array.from(densify(again.texts))).toEqual(Array.from(densify(plant.texts)));
    expect(plant.ties.some((t) => t.length > 0)).toBe(true);
    expect(plant.beats.some((b) => b.length > 1)).toBe(true);
    const otherLanguage = plantRetrieval({ images: 40, captionsPerImage: 2, dim: 48, seed: 2, layoutSeed: 1, top1: 0.3, hubs: 5 });
    expect(Array.from(densify(otherLanguage.images))).toEqual(Array.from(densify(plant.images))); // same images
    expect(Array.from(densify(otherLanguage.texts))).not.toEqual(Array.from(densify(plant.texts)));
    expect(() => plantRetrieval({ images: 3600, captionsPerImage: 2, dim: 100, seed: 0 })).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
