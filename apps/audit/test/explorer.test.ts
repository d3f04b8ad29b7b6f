/**
 * Report schema 2: the explorer's per-query T→I ranks and top-5 lists against the full similarity matrix, the cap on
 * kept queries, per-image bias preferences against @siglip-edge/metrics, thumbnails, and version 1 reports.
 */
import { cosineSimilarityMatrix, normalizeRows, preferenceHits, representationBias, retrieval } from "@siglip-edge/metrics";
import { meanNormalized, tensor } from "@siglip-edge/core";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeImage, initNodeDecoders } from "@siglip-edge/preprocess/node";
import { describe, expect, it } from "vitest";
import { compareReports } from "../src/compare.ts";
import { computeAudit } from "../src/compute.ts";
import { loadDefaultDataset } from "../src/dataset.ts";
import { makeThumbnail, thumbnailSize, writeThumbnails } from "../src/node/thumbnails.ts";
import { languageRankChanges, modelRankChanges } from "../src/rank-changes.ts";
import { packInts, parseReport, unpackBits, unpackInts, type AuditReport } from "../src/report-schema.ts";
import { builtinPromptSets, syntheticInputs } from "./helpers.ts";

const dataset = loadDefaultDataset();
const sets = builtinPromptSets();
const inputs = syntheticInputs(dataset, sets, 1, 3);
const report = computeAudit(inputs, { seed: 3, resamples: 50 });

describe("report schema 2: explorer", () => {
  it("packs integers of 2 and 4 bytes with -1 as all ones", () => {
    for (const bytes of [2, 4] as const) {
      const values = [0, 1, 65534, -1, 7];
      expect(Array.from(unpackInts(packInts(values, bytes), bytes))).toEqual(values);
    }
    expect(Array.from(unpackInts(packInts([70_000, -1], 4), 4))).toEqual([70_000, -1]);
  });

  it("per-query ranks and top-5 images equal the full similarity matrix, for every language", () => {
    const ex = report.explorer;
    expect(ex).toMatchObject({ direction: "textToImage", k: 5, intBytes: 2, translationGroups: "parallel" });
    expect(ex?.languages.map((l) => l.language)).toEqual(report.dataset.languages);
    const D = inputs.dim;
    const I = dataset.images.length;
    for (const lang of ["en", "mi", "quz", "zh"]) {
      const caps = dataset.captions.filter((c) => c.language === lang);
      const S = cosineSimilarityMatrix(
        tensor("float32", [I, D], inputs.images),
        tensor("float32", [caps.length, D], Float32Array.from(caps.flatMap((c) => Array.from(inputs.text(c.text))))),
      );
      const full = retrieval(S, caps.map((c) => c.image));
      const got = ex?.languages.find((l) => l.language === lang);
      expect(got?.queries).toBe(caps.length);
      expect(got?.kept).toBe(caps.length);
      expect(got?.captions).toEqual(caps.map((c) => c.text));
      expect(Array.from(unpackInts(got?.image ?? "", 2))).toEqual(caps.map((c) => c.image));
      expect(Array.from(unpackInts(got?.rank ?? "", 2))).toEqual(Array.from(full.perQuery.textToImageRanks));
      const top = unpackInts(got?.top ?? "", 2);
      caps.forEach((_, t) => {
        const order = Array.from({ length: I }, (_, i) => i).sort((a, b) => (S.data[b * caps.length + t] as number) - (S.data[a * caps.length + t] as number) || a - b);
        expect(Array.from(top.subarray(5 * t, 5 * t + 5))).toEqual(order.slice(0, 5));
        // the rank is where the true image sits in that order (optimistic ties; no ties in random embeddings)
        expect(order.indexOf(caps[t]?.image ?? -1) + 1).toBe(full.perQuery.textToImageRanks[t]);
      });
    }
  });

  it("keeps the first N queries per language when capped, the same ones in every report of the dataset", () => {
    const capped = computeAudit(inputs, { seed: 3, resamples: 20, languages: ["en", "de"], explorerMaxQueries: 10 });
    const other = computeAudit(syntheticInputs(dataset, sets, 2, 3), { seed: 3, resamples: 20, languages: ["en", "de"], explorerMaxQueries: 10 });
    for (const r of [capped, other]) {
      const en = r.explorer?.languages.find((l) => l.language === "en");
      expect(en).toMatchObject({ queries: 86, kept: 10 });
      expect(en?.captions).toEqual(dataset.captions.filter((c) => c.language === "en").slice(0, 10).map((c) => c.text));
      expect(unpackInts(en?.top ?? "", 2).length).toBe(50);
    }
  });

  it("gallery lists every dataset image; bias cells carry per-image preferences equal to metrics' preferenceHits", () => {
    expect(report.gallery?.images.map((g) => g.key)).toEqual(dataset.images.map((im) => im.key));
    expect(report.gallery?.thumbnails).toBeNull(); // computeAudit alone writes no files
    const objects = report.bias.images ?? [];
    expect(objects).toEqual(dataset.images.flatMap((im, i) => (im.people ? [] : [i])));
    const D = inputs.dim;
    const rows = tensor("float32", [objects.length, D], Float32Array.from(objects.flatMap((i) => Array.from(inputs.images.subarray(i * D, (i + 1) * D)))));
    const unit = tensor("float32", [objects.length, D], normalizeRows(rows));
    for (const cell of report.bias.cells.filter((c) => ["en", "ja"].includes(c.language))) {
      const hits = preferenceHits(unit, meanNormalized(cell.prompts.first.map(inputs.text)), meanNormalized(cell.prompts.second.map(inputs.text)), { imagesNormalized: true });
      const bits = unpackBits(cell.perImage?.preferFirst ?? "", objects.length);
      expect(Array.from(bits)).toEqual(Array.from(hits));
      expect(bits.reduce((s, b) => s + b, 0) / objects.length).toBe(cell.rate);
      const ref = representationBias(unit, meanNormalized(cell.prompts.first.map(inputs.text)), meanNormalized(cell.prompts.second.map(inputs.text)), { imagesNormalized: true });
      expect({ rate: cell.rate, rateCi: cell.rateCi, rb: cell.rb, rbCi: cell.rbCi }).toEqual({ rate: ref.rate, rateCi: ref.rateCi, rb: ref.rb, rbCi: ref.rbCi });
      const { first, second } = cell.perImage?.strongest ?? { first: [], second: [] };
      // at most 24 images per side, each on the side it prefers, strongest first
      const k = bits.reduce((s, b) => s + b, 0);
      expect([first.length, second.length]).toEqual([Math.min(24, k), Math.min(24, objects.length - k)]);
      expect(first.every((x) => bits[objects.indexOf(x.image)] === 1) && second.every((x) => bits[objects.indexOf(x.image)] === 0)).toBe(true);
      expect(first.every((x) => x.margin >= 0)).toBe(true); // rounded to 1e-6
      expect(second.every((x) => x.margin <= 0)).toBe(true);
      expect(first.map((x) => x.margin)).toEqual([...first.map((x) => x.margin)].sort((a, b) => b - a));
      expect(second.map((x) => x.margin)).toEqual([...second.map((x) => x.margin)].sort((a, b) => a - b));
    }
  });
});

describe("rank changes for the explorer", () => {
  const D = inputs.dim;
  const I = dataset.images.length;
  const other = syntheticInputs(dataset, sets, 2, 6);
  const reportB = computeAudit(other, { seed: 3, resamples: 20 });
  /** T→I ranks of one language from the full similarity matrix (independent of the explorer). */
  const ranksOf = (inp: typeof inputs, lang: string) => {
    const caps = dataset.captions.filter((c) => c.language === lang);
    const S = cosineSimilarityMatrix(tensor("float32", [I, D], inp.images), tensor("float32", [caps.length, D], Float32Array.from(caps.flatMap((c) => Array.from(inp.text(c.text))))));
    return { caps, ranks: retrieval(S, caps.map((c) => c.image)).perQuery.textToImageRanks };
  };
  const expectedOrder = (pairs: { q: number; ra: number; rb: number }[]) =>
    pairs
      .filter((p) => p.ra !== p.rb)
      .sort((x, y) => Math.abs(Math.log2(y.rb / y.ra)) - Math.abs(Math.log2(x.rb / x.ra)) || Math.abs(y.ra - y.rb) - Math.abs(x.ra - x.rb) || x.q - y.q)
      .slice(0, 20);

  it("model A vs B: the 20 queries with the largest |log2 rank ratio| per language, none for a report against itself", () => {
    expect(Object.values(modelRankChanges(report, report).byLanguage).every((l) => l.length === 0)).toBe(true);
    const got = modelRankChanges(report, reportB, 20);
    expect(got.notes).toEqual([]);
    for (const lang of ["en", "sw"]) {
      const ra = ranksOf(inputs, lang).ranks;
      const rb = ranksOf(other, lang).ranks;
      const want = expectedOrder(Array.from(ra, (r, q) => ({ q, ra: r, rb: rb[q] as number })));
      expect(want.length).toBeGreaterThan(5);
      expect(got.byLanguage[lang]?.map((c) => [c.query, c.a.rank, c.b.rank])).toEqual(want.map((p) => [p.q, p.ra, p.rb]));
    }
  });

  it("language vs en: each caption against the caption of the same image and position in English", () => {
    const got = languageRankChanges(report, "en", 20);
    const en = ranksOf(inputs, "en");
    for (const lang of ["de", "quz"]) {
      const l = ranksOf(inputs, lang);
      const nth = (caps: typeof l.caps, t: number) => caps.slice(0, t).filter((c) => c.image === caps[t]?.image).length;
      const pairs = l.caps.flatMap((c, q) => {
        const p = en.caps.findIndex((e, t) => e.image === c.image && nth(en.caps, t) === nth(l.caps, q));
        return p < 0 ? [] : [{ q, ra: l.ranks[q] as number, rb: en.ranks[p] as number, partner: en.caps[p]?.text }];
      });
      const want = expectedOrder(pairs);
      const list = got.byLanguage[lang] ?? [];
      expect(list.map((c) => [c.query, c.a.rank, c.b.rank])).toEqual(want.map((p) => [p.q, p.ra, p.rb]));
      expect(list.map((c) => c.b.text)).toEqual(want.map((p) => pairs.find((x) => x.q === p.q)?.partner));
    }
    expect(got.byLanguage["en"]).toBeUndefined();
  });
});

describe("report schema versions", () => {
  it("reads a version 1 report as version 2 without gallery, explorer or denigration, and compares it with a version 2 one", () => {
    const v1 = JSON.parse(JSON.stringify(report)) as Record<string, unknown> & AuditReport;
    v1.schemaVersion = 1;
    delete (v1 as Partial<AuditReport>).gallery;
    delete (v1 as Partial<AuditReport>).explorer;
    delete v1.bias.images;
    for (const c of v1.bias.cells) delete c.perImage;
    const read = parseReport(v1);
    expect(read.schemaVersion).toBe(1);
    expect(read.gallery).toBeNull();
    expect(read.explorer).toBeNull();
    expect(compareReports(read, report).languages.length).toBe(36);
    expect(() => parseReport({ ...v1, schemaVersion: 3 })).toThrowError(/schemaVersion 3; this tool reads 1 and 2/);
  });
});

describe("thumbnails", () => {
  it("fits the longer side, keeps the aspect ratio and never enlarges", () => {
    expect(thumbnailSize(1024, 768, 96)).toEqual({ width: 96, height: 72 });
    expect(thumbnailSize(300, 451, 96)).toEqual({ width: 64, height: 96 });
    expect(thumbnailSize(50, 20, 96)).toEqual({ width: 50, height: 20 });
    expect(thumbnailSize(4000, 3, 96)).toEqual({ width: 96, height: 1 });
  });

  it("writes decodable JPEG thumbnails named by the image hash, reuses them on a rerun and skips undecodable files", async () => {
    await initNodeDecoders();
    const out = mkdtempSync(join(tmpdir(), "siglip-thumbs-"));
    try {
      const photos = dataset.images.slice(0, 3).map((im, i) => ({ bytes: new Uint8Array(readFileSync(im.path)), hash: `${i}`.repeat(64) }));
      const items = [...photos, { bytes: new TextEncoder().encode("not an image"), hash: "f".repeat(64) }];
      const first = await writeThumbnails(out, items, 96);
      expect(first).toMatchObject({ made: 3, failed: 1, spec: { dir: "thumbs", maxSide: 96, format: "jpeg" } });
      expect(first.paths).toEqual(["thumbs/0000000000000000.jpg", "thumbs/1111111111111111.jpg", "thumbs/2222222222222222.jpg", null]);
      for (const [i, p] of first.paths.slice(0, 3).entries()) {
        const img = await decodeImage(new Uint8Array(readFileSync(join(out, p ?? ""))));
        const src = await decodeImage(photos[i]?.bytes ?? new Uint8Array());
        expect(img.format).toBe("jpeg");
        expect({ width: img.width, height: img.height }).toEqual(thumbnailSize(src.width, src.height, 96));
      }
      const again = await writeThumbnails(out, items, 96);
      expect(again).toMatchObject({ made: 0, failed: 0, paths: first.paths });
      expect(readdirSync(join(out, "thumbs")).sort()).toEqual(["0000000000000000.jpg", "1111111111111111.jpg", "2222222222222222.jpg", "ffffffffffffffff.none"]);
      expect(await writeThumbnails(out, items, 0)).toMatchObject({ spec: null, paths: [null, null, null, null] });
      expect(await makeThumbnail(new Uint8Array([0xff, 0xd8, 0xff, 0x00]))).toBeNull();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
