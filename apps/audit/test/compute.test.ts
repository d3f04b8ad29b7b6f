import { cosineSimilarityMatrix, retrieval } from "@siglip-edge/metrics";
import { tensor } from "@siglip-edge/core";
import { describe, expect, it } from "vitest";
import { compareReports } from "../src/compare.ts";
import { computeAudit } from "../src/compute.ts";
import { loadDefaultDataset } from "../src/dataset.ts";
import { packBits, parseReport, unpackBits } from "../src/report-schema.ts";
import { builtinPromptSets, syntheticInputs, syntheticReport } from "./helpers.ts";

describe("computeAudit", () => {
  const dataset = loadDefaultDataset();
  const sets = builtinPromptSets();
  const inputs = syntheticInputs(dataset, sets, 1);
  const report = computeAudit(inputs, { seed: 3, resamples: 200 });

  it("states model, revision, dataset, caption policy, prompt sets and seed", () => {
    expect(report.model).toMatchObject({ id: "synthetic-1", revision: "r1", standIn: true, dim: 32 });
    expect(report.dataset).toMatchObject({ id: "default-cldr-photos", images: 43, biasImages: 41 });
    expect(report.settings).toMatchObject({ captionPolicy: "all", seed: 3, bootstrap: { resamples: 200, level: 0.95, unit: "image" } });
    expect(report.settings.promptSets.map((p) => p.id)).toEqual(["gender", "age", "occupation"]);
    expect(parseReport(JSON.parse(JSON.stringify(report)))).toEqual(report);
    expect(() => parseReport({ schema: "x" })).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("per-language numbers equal an independent computation with @siglip-edge/metrics", () => {
    for (const lang of ["en", "mi", "zh"]) {
      const caps = dataset.captions.filter((c) => c.language === lang);
      const D = inputs.dim;
      const S = cosineSimilarityMatrix(
        tensor("float32", [dataset.images.length, D], inputs.images),
        tensor("float32", [caps.length, D], Float32Array.from(caps.flatMap((c) => Array.from(inputs.text(c.text))))),
      );
      const r = retrieval(S, caps.map((c) => c.image));
      const got = report.retrieval.languages.find((l) => l.language === lang);
      expect(got?.textToImage.recall).toEqual(r.textToImage.recall);
      expect(got?.imageToText.mrr).toBeCloseTo(r.imageToText.mrr, 12);
      expect(got?.textToImage.queries).toBe(caps.length);
      const ci = got?.textToImage.recallCi["1"];
      expect(ci && ci.lo <= (got?.textToImage.recall["1"] ?? 0) && (got?.textToImage.recall["1"] ?? 0) <= ci.hi).toBe(true);
    }
  });

  it("recall follows the synthetic noise, which grows with the language index", () => {
    const first = report.retrieval.languages[0];
    const last = report.retrieval.languages[35];
    expect(first?.language).toBe("ar");
    expect(first?.textToImage.recall["1"]).toBeGreaterThan(last?.textToImage.recall["1"] ?? 1);
    console.log("synthetic T→I R@1 ar vs zh:", first?.textToImage.recall["1"], last?.textToImage.recall["1"], "mean", report.retrieval.mean.textToImage.recall["1"], report.retrieval.mean.textToImage.recallCi["1"]);
  });

  it("bootstrap CIs are reproducible from the seed and change with it", () => {
    const again = computeAudit(syntheticInputs(dataset, sets, 1), { seed: 3, resamples: 200 });
    expect(JSON.stringify(again)).toBe(JSON.stringify(report));
    const other = computeAudit(syntheticInputs(dataset, sets, 1), { seed: 4, resamples: 200 });
    expect(other.retrieval.mean.textToImage.recallCi).not.toEqual(report.retrieval.mean.textToImage.recallCi);
    expect(other.retrieval.languages[0]?.textToImage.recall).toEqual(report.retrieval.languages[0]?.textToImage.recall);
  });

  it("first-caption policy keeps one query per captioned image", () => {
    const first = computeAudit(syntheticInputs(dataset, sets, 1), { captionPolicy: "first", resamples: 50, languages: ["en", "mi"] });
    expect(first.settings.captionPolicy).toBe("first");
    expect(first.retrieval.languages.map((l) => l.textToImage.queries)).toEqual([43, 33]);
    expect(first.dataset.languages).toEqual(["en", "mi"]);
  });

  it("representation bias cells: one per language x column, RB = |rate - 0.5|", () => {
    expect(report.bias.columns.slice(0, 3)).toEqual(["gender", "age", "occupation:health worker"]);
    expect(report.bias.columns).toHaveLength(2 + 20);
    const gender = report.bias.cells.filter((c) => c.column === "gender");
    expect(gender).toHaveLength(36);
    for (const c of report.bias.cells) expect(c.rb).toBeCloseTo(Math.abs(c.rate - 0.5), 12);
    const de = gender.find((c) => c.language === "de");
    expect(de?.prompts).toEqual({ first: ["mann", "foto: mann"], second: ["frau", "foto: frau"] });
  });
});

describe("compareReports", () => {
  it("a report against itself: no differences, p = 1", () => {
    const a = syntheticReport(1);
    const c = compareReports(a, a);
    expect(c.languages).toHaveLength(36);
    for (const l of c.languages) {
      expect(l.textToImage.delta).toBe(0);
      expect(l.textToImage.mcnemarP).toBe(1);
      expect(l.imageToText.bootstrap).toEqual({ ci: { lo: 0, hi: 0 }, p: 1 });
    }
    expect(c.acrossLanguages.textToImage.p).toBe(1);
  });
  it("a less noisy model wins across languages (Wilcoxon) and per query (McNemar)", () => {
    const a = syntheticReport(1, 0.5);
    const b = syntheticReport(1, 3);
    const c = compareReports(a, b);
    expect(c.acrossLanguages.textToImage.wPlus).toBeGreaterThan(c.acrossLanguages.textToImage.wMinus);
    expect(c.acrossLanguages.textToImage.p).toBeLessThan(0.001);
    expect(c.languages.filter((l) => l.textToImage.holmP < 0.05).length).toBeGreaterThan(0);
    // paired cluster bootstrap: the difference's CI lies above 0 where the clean model is clearly better
    const clear = c.languages.filter((l) => l.textToImage.bootstrap.ci.lo > 0);
    expect(clear.length).toBeGreaterThan(0);
    for (const l of c.languages) expect(l.textToImage.bootstrap.ci.lo).toBeLessThanOrEqual(l.textToImage.delta + 1e-12);
    for (const l of clear) expect(l.textToImage.bootstrap.p).toBeLessThan(0.05);
    // reproducible: the same reports and seed give the same intervals
    expect(compareReports(a, b).languages).toEqual(c.languages);
    console.log("compare synthetic noise 0.5 vs 3:", JSON.stringify(c.acrossLanguages.textToImage), "languages significant after Holm:", c.languages.filter((l) => l.textToImage.holmP < 0.05).length, "bootstrap CI above 0:", clear.length, "e.g.", JSON.stringify(clear[0]?.textToImage));
  });
  it("refuses reports on different datasets", () => {
    const a = syntheticReport(1);
    const b = { ...a, dataset: { ...a.dataset, id: "other" } };
    expect(() => compareReports(a, b)).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
  it("bitsets round-trip", () => {
    const bits = [1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1];
    expect(Array.from(unpackBits(packBits(bits), bits.length))).toEqual(bits);
  });
});
