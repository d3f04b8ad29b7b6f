import { describe, expect, it } from "vitest";
import { tensor, type Tensor } from "@siglip-edge/core";
import { jsKernel, type SimilarityKernel } from "../src/kernel.ts";
import { createRng } from "../src/prng.ts";
import { retrieval, type CaptionPolicy, type TiePolicy } from "../src/retrieval.ts";
import { streamRetrieval, streamRetrievalSync } from "../src/retrieval-stream.ts";
import { cosineSimilarityMatrix } from "../src/similarity.ts";
import { densify, plantedRanks, plantRetrieval } from "../src/testing/planted.ts";

const POLICIES: [CaptionPolicy, TiePolicy][] = [
  ["all", "optimistic"],
  ["all", "pessimistic"],
  ["first", "optimistic"],
  ["first", "pessimistic"],
];

/** Random rows; `dupes` copies row j of `from` over row i, which makes exact ties. */
function gaussianRows(n: number, D: number, seed: number, dupes: [number, number][] = []): Tensor<"float32"> {
  const rng = createRng(seed);
  const data = Float32Array.from({ length: n * D }, () => rng.next() - 0.5);
  for (const [i, j] of dupes) data.copyWithin(i * D, j * D, (j + 1) * D);
  return tensor("float32", [n, D], data);
}

function sameAsFullMatrix(images: Tensor<"float32">, texts: Tensor<"float32">, owner: Int32Array, blockRows: number): number {
  const S = cosineSimilarityMatrix(images, texts);
  let checked = 0;
  for (const [captionPolicy, ties] of POLICIES) {
    const want = retrieval(S, owner, { captionPolicy, ties });
    const got = streamRetrievalSync(images, texts, owner, { captionPolicy, ties, blockRows });
    expect(Array.from(got.perQuery.texts)).toEqual(Array.from(want.perQuery.texts));
    expect(Array.from(got.perQuery.textToImageRanks)).toEqual(Array.from(want.perQuery.textToImageRanks));
    expect(Array.from(got.perQuery.imageToTextRanks)).toEqual(Array.from(want.perQuery.imageToTextRanks));
    expect(got.textToImage).toEqual(want.textToImage);
    expect(got.imageToText).toEqual(want.imageToText);
    checked += got.perQuery.texts.length;
  }
  return checked;
}

describe("streamed retrieval (tiles, never the full matrix)", () => {
  it("gives the full-matrix ranks on ragged sizes, shuffled caption order, caption-less images and every tile size", () => {
    // 23 images, 41 captions in shuffled order; images 20..22 have no caption; blocks of 1, 4, 7 and all rows.
    const rng = createRng(5);
    const owner = Int32Array.from({ length: 41 }, (_, t) => (t < 20 ? t : rng.int(20)));
    for (let t = owner.length - 1; t > 0; t--) {
      const j = rng.int(t + 1);
      [owner[t], owner[j]] = [owner[j]!, owner[t]!];
    }
    const images = gaussianRows(23, 9, 1);
    const texts = gaussianRows(41, 9, 2);
    for (const blockRows of [1, 4, 7, 23, 64]) expect(sameAsFullMatrix(images, texts, owner, blockRows)).toBeGreaterThan(0);
  });

  it("counts exact ties like the full matrix: duplicated images and captions, optimistic vs pessimistic", () => {
    // image 3 = image 0, image 5 = image 1; caption 7 = caption 2 (owners 0 and 4), caption 8 = caption 1
    const images = gaussianRows(6, 5, 3, [[3, 0], [5, 1]]);
    const texts = gaussianRows(10, 5, 4, [[7, 2], [8, 1]]);
    const owner = Int32Array.from([0, 1, 0, 2, 3, 4, 5, 4, 2, 1]);
    for (const blockRows of [1, 2, 6]) sameAsFullMatrix(images, texts, owner, blockRows);
    const opt = streamRetrievalSync(images, texts, owner, { ties: "optimistic", blockRows: 2 });
    const pes = streamRetrievalSync(images, texts, owner, { ties: "pessimistic", blockRows: 2 });
    // the ties are real: caption 0 (image 0) ties with image 3, so its pessimistic rank is one worse
    expect(pes.perQuery.textToImageRanks[0]).toBe(opt.perQuery.textToImageRanks[0]! + 1);
  });

  it("counts a tie at similarity 0 (the pessimistic comparison just below zero) and ranks negative references", () => {
    // images e1, e2, -e1; caption 0 = -e2 (own image 0): S = [0, -1, 0] -> optimistic 1, pessimistic 2;
    // caption 1 = -e1 + 0.1 e2 (own image 1): S ≈ [-0.995, 0.0995, 0.995] -> 2 either way
    const images = tensor("float32", [3, 2], Float32Array.from([1, 0, 0, 1, -1, 0]));
    const texts = tensor("float32", [2, 2], Float32Array.from([0, -1, -1, 0.1]));
    const owner = Int32Array.from([0, 1]);
    const S = cosineSimilarityMatrix(images, texts);
    expect([S.data[0], S.data[2], S.data[4]]).toEqual([0, -1, 0]);
    expect(Array.from(streamRetrievalSync(images, texts, owner).perQuery.textToImageRanks)).toEqual([1, 2]);
    expect(Array.from(streamRetrievalSync(images, texts, owner, { ties: "pessimistic" }).perQuery.textToImageRanks)).toEqual([2, 2]);
    sameAsFullMatrix(images, texts, owner, 1);
  });

  it("reproduces planted ranks exactly, ties included, in every policy", () => {
    const plant = plantRetrieval({ images: 150, captionsPerImage: 2, dim: 64, seed: 9, top1: 0.4, hubs: 8, tieShare: 0.3 });
    const images = tensor("float32", [150, 64], densify(plant.images));
    const texts = tensor("float32", [300, 64], densify(plant.texts));
    for (const [captionPolicy, ties] of POLICIES) {
      const want = plantedRanks(plant, captionPolicy, ties);
      const got = streamRetrievalSync(images, texts, plant.owner, { captionPolicy, ties, blockRows: 32 });
      expect(Array.from(got.perQuery.textToImageRanks)).toEqual(Array.from(want.textToImageRanks));
      expect(Array.from(got.perQuery.imageToTextRanks)).toEqual(Array.from(want.imageToTextRanks));
    }
    const opt = streamRetrievalSync(images, texts, plant.owner);
    const pes = streamRetrievalSync(images, texts, plant.owner, { ties: "pessimistic" });
    expect(opt.textToImage.recall["1"]).toBeGreaterThan(pes.textToImage.recall["1"] ?? 1); // planted ties exist
    console.log("planted 150 x 300 (all captions): optimistic", JSON.stringify(opt.textToImage.recall), JSON.stringify(opt.imageToText.recall), "pessimistic", JSON.stringify(pes.textToImage.recall));
  });

  it("keeps the top-k of every query: most similar first, ties by lower index", () => {
    const images = gaussianRows(13, 6, 7, [[4, 2]]);
    const texts = gaussianRows(20, 6, 8);
    const owner = Int32Array.from({ length: 20 }, (_, t) => t % 13);
    const k = 5;
    const S = cosineSimilarityMatrix(images, texts);
    const got = streamRetrievalSync(images, texts, owner, { topK: k, blockRows: 3 });
    const top = got.top;
    expect(top?.k).toBe(k);
    const order = (n: number, sim: (x: number) => number) =>
      Array.from({ length: n }, (_, x) => x).sort((x, y) => sim(y) - sim(x) || x - y).slice(0, k);
    for (let t = 0; t < 20; t++) expect(Array.from(top?.textToImage.subarray(t * k, (t + 1) * k) ?? [])).toEqual(order(13, (i) => S.data[i * 20 + t]!));
    for (let i = 0; i < 13; i++) expect(Array.from(top?.imageToText.subarray(i * k, (i + 1) * k) ?? [])).toEqual(order(20, (t) => S.data[i * 20 + t]!));
    // image 4 duplicates image 2: wherever both are listed, 2 comes first
    for (let t = 0; t < 20; t++) {
      const row = Array.from(top?.textToImage.subarray(t * k, (t + 1) * k) ?? []);
      if (row.includes(4) && row.includes(2)) expect(row.indexOf(2)).toBeLessThan(row.indexOf(4));
    }
  });

  it("pads top-k lists with -1 when k exceeds the candidates", () => {
    const got = streamRetrievalSync(gaussianRows(3, 4, 1), gaussianRows(2, 4, 2), Int32Array.from([0, 2]), { topK: 4 });
    expect(Array.from(got.top?.textToImage.subarray(0, 4) ?? []).slice(3)).toEqual([-1]);
    expect(Array.from(got.top?.imageToText.subarray(0, 4) ?? []).slice(2)).toEqual([-1, -1]);
  });

  it("awaits an asynchronous kernel tile by tile, with the same result", async () => {
    let calls = 0;
    const later: SimilarityKernel = {
      name: "js, one macrotask later",
      multiplyTransposed: (a, m, b, n, k, out) =>
        new Promise((resolve) => setTimeout(() => (calls++, resolve(jsKernel.multiplyTransposed(a, m, b, n, k, out))), 0)),
    };
    const images = gaussianRows(30, 8, 11);
    const texts = gaussianRows(50, 8, 12);
    const owner = Int32Array.from({ length: 50 }, (_, t) => (t * 7) % 30);
    const got = await streamRetrieval(images, texts, owner, { kernel: later, blockRows: 8, ties: "pessimistic" });
    const want = streamRetrievalSync(images, texts, owner, { blockRows: 8, ties: "pessimistic" });
    expect(got.kernel).toBe("js, one macrotask later");
    expect(Array.from(got.perQuery.textToImageRanks)).toEqual(Array.from(want.perQuery.textToImageRanks));
    expect(Array.from(got.perQuery.imageToTextRanks)).toEqual(Array.from(want.perQuery.imageToTextRanks));
    expect(calls).toBe(4 + 2 * 4 - 2); // 4 diagonal tiles, then left and right of each (none left of the first, right of the last)
  });

  it("rejects bad shapes, owners and options with typed errors", () => {
    const images = gaussianRows(3, 4, 1);
    const texts = gaussianRows(2, 4, 2);
    expect(() => streamRetrievalSync(images, gaussianRows(2, 5, 2), [0, 1])).toThrowError(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
    expect(() => streamRetrievalSync(images, texts, [0])).toThrowError(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
    expect(() => streamRetrievalSync(images, texts, [0, 3])).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => streamRetrievalSync(images, texts, [0, 1], { blockRows: 0 })).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => streamRetrievalSync(images, texts, [0, 1], { topK: -1 })).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    const short: SimilarityKernel = { name: "short", multiplyTransposed: () => new Float32Array(1) };
    return expect(streamRetrieval(images, texts, [0, 1], { kernel: short })).rejects.toMatchObject({ code: "INTERNAL" });
  });
});
