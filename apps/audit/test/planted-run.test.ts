/**
 * `runAudit` end to end on planted embeddings (precomputed provider, several languages sharing one image set): the
 * report carries the planted recall exactly, with onnxruntime-node's MatMul (the default on Node) and with the
 * pure-JS kernel, and a rerun reads every vector back from the cache.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeNpy, tensor } from "@siglip-edge/core";
import { jsKernel, summarizeRanks } from "@siglip-edge/metrics";
import { densify, plantedRanks, plantRetrieval, type PlantedRetrieval } from "@siglip-edge/metrics/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { AuditDataset } from "../src/dataset.ts";
import { unpackBits } from "../src/report-schema.ts";
import { EmbeddingCache } from "../src/node/cache.ts";
import { PrecomputedProvider } from "../src/node/providers.ts";
import { runAudit } from "../src/node/run.ts";

const work = mkdtempSync(join(tmpdir(), "siglip-audit-planted-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const I = 300;
const D = 64;
const LANGS = ["de", "en", "sw"];
// One layout seed: every language shares the images; captions (and so ranks) differ per language, ties included.
const plants: PlantedRetrieval[] = LANGS.map((_, l) => plantRetrieval({ images: I, captionsPerImage: 2, dim: D, seed: 40 + l, layoutSeed: 40, top1: 0.6 - 0.15 * l, hubs: 9, tieShare: 0.2 }));

function writeInputs(): { dataset: AuditDataset; embeddings: string } {
  const images = join(work, "images");
  const embeddings = join(work, "embeddings");
  mkdirSync(images, { recursive: true });
  mkdirSync(embeddings, { recursive: true });
  const keys = Array.from({ length: I }, (_, i) => `img${i}`);
  keys.forEach((k) => writeFileSync(join(images, `${k}.bin`), k)); // distinct bytes: the runner hashes image files
  const captions = LANGS.flatMap((language, l) => Array.from((plants[l] as PlantedRetrieval).owner, (image, t) => ({ image, language, text: `${language} caption ${t}` })));
  const texts = new Float32Array(captions.length * D);
  LANGS.forEach((_, l) => texts.set(densify((plants[l] as PlantedRetrieval).texts), l * I * 2 * D));
  writeFileSync(join(embeddings, "texts.json"), JSON.stringify(captions.map((c) => c.text)));
  writeFileSync(join(embeddings, "texts.npy"), encodeNpy(tensor("float32", [captions.length, D], texts)));
  writeFileSync(join(embeddings, "images.json"), JSON.stringify(keys));
  writeFileSync(join(embeddings, "images.npy"), encodeNpy(tensor("float32", [I, D], densify((plants[0] as PlantedRetrieval).images))));
  writeFileSync(join(embeddings, "model.json"), JSON.stringify({ model: "planted", revision: "p1" }));
  const dataset: AuditDataset = {
    id: "planted",
    description: "planted retrieval (metrics/testing)",
    languages: LANGS,
    images: keys.map((key) => ({ key, path: join(images, `${key}.bin`), people: false })),
    captions,
  };
  return { dataset, embeddings };
}

describe("audit run on planted embeddings", () => {
  const { dataset, embeddings } = writeInputs();

  it("reports the planted recall, MRR, mean and median rank and per-query R@1 hits of every language exactly, in both tie policies", async () => {
    for (const ties of ["optimistic", "pessimistic"] as const) {
      const out = join(work, `out-${ties}`);
      const report = await runAudit(new PrecomputedProvider(embeddings), dataset, [], { out, resamples: 100, ties });
      expect(report.retrieval.languages.map((l) => l.language)).toEqual(LANGS);
      report.retrieval.languages.forEach((got, l) => {
        const want = plantedRanks(plants[l] as PlantedRetrieval, "all", ties);
        const t2i = summarizeRanks(want.textToImageRanks, I);
        const i2t = summarizeRanks(want.imageToTextRanks, want.texts.length);
        expect({ recall: got.textToImage.recall, mrr: got.textToImage.mrr, meanRank: got.textToImage.meanRank, medianRank: got.textToImage.medianRank }).toEqual({ recall: t2i.recall, mrr: t2i.mrr, meanRank: t2i.meanRank, medianRank: t2i.medianRank });
        expect({ recall: got.imageToText.recall, mrr: got.imageToText.mrr, meanRank: got.imageToText.meanRank }).toEqual({ recall: i2t.recall, mrr: i2t.mrr, meanRank: i2t.meanRank });
        expect(Array.from(unpackBits(got.hits.textToImage, want.texts.length))).toEqual(Array.from(want.textToImageRanks, (r) => (r === 1 ? 1 : 0)));
        expect(Array.from(unpackBits(got.hits.imageToText, I))).toEqual(Array.from(want.imageToTextRanks, (r) => (r === 1 ? 1 : 0)));
      });
      if (ties === "optimistic") console.log("planted audit run (3 languages x 600 captions):", JSON.stringify(report.retrieval.languages.map((l) => [l.language, l.textToImage.recall["1"], l.imageToText.recall["1"]])));
    }
  }, 60_000);

  it("gives the same report with the pure-JS kernel, and a rerun computes nothing new", async () => {
    const out = join(work, "out-js");
    const viaJs = await runAudit(new PrecomputedProvider(embeddings), dataset, [], { out, resamples: 100, kernel: jsKernel });
    const viaOrt = await runAudit(new PrecomputedProvider(embeddings), dataset, [], { out, resamples: 100 });
    expect(viaOrt.retrieval).toEqual(viaJs.retrieval);
    const cache = new EmbeddingCache(join(out, "embeddings.sqlite"));
    try {
      // the second run found all I images and 3 x 600 captions in the cache: the ledger counts them once
      expect(cache.stats()).toMatchObject({ vectors: I + 3 * 2 * I, ledgerInserted: I + 3 * 2 * I });
    } finally {
      cache.close();
    }
  }, 60_000);

  it("precomputed provider: float32 rows read on demand, other dtypes converted in memory; unknown keys and short files are typed errors", async () => {
    const lazy = new PrecomputedProvider(embeddings);
    const got = await lazy.embedTexts(["de caption 5", "sw caption 599"]);
    const de = densify((plants[0] as PlantedRetrieval).texts);
    const sw = densify((plants[2] as PlantedRetrieval).texts);
    expect(Array.from(got)).toEqual([...de.subarray(5 * D, 6 * D), ...sw.subarray(599 * D, 600 * D)]);
    const ints = join(work, "embeddings-int32");
    mkdirSync(ints, { recursive: true });
    writeFileSync(join(ints, "texts.json"), JSON.stringify(["a", "b"]));
    writeFileSync(join(ints, "texts.npy"), encodeNpy(tensor("int32", [2, D], Int32Array.from({ length: 2 * D }, (_, k) => k - D))));
    writeFileSync(join(ints, "images.json"), JSON.stringify(["img0"]));
    writeFileSync(join(ints, "images.npy"), encodeNpy(tensor("int32", [1, D], new Int32Array(D).fill(1))));
    expect(Array.from(await new PrecomputedProvider(ints).embedTexts(["b"]))).toEqual(Array.from({ length: D }, (_, k) => k));
    await expect(lazy.embedTexts(["no such caption"])).rejects.toMatchObject({ code: "NOT_FOUND" });
    writeFileSync(join(ints, "images.json"), JSON.stringify(["img0", "img1"])); // 2 keys for a 1-row file
    expect(() => new PrecomputedProvider(ints)).toThrowError(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
  });
});
