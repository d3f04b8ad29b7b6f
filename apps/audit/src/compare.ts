/**
 * Model-vs-model comparison of two reports on the same dataset (audit-metrics.md §5): per language, exact McNemar on
 * per-query R@1 hits with Holm correction over languages; across languages, Wilcoxon signed-rank on R@1 and on RB.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { bootstrapRatios, holmAdjust, mcnemarExact, pairedBootstrap, wilcoxonSignedRank, type RatioStat, type WilcoxonResult } from "@siglip-edge/metrics";
import { unpackBits, unpackBytes, type AuditReport } from "./report-schema.ts";

interface DirectionComparison {
  a: number;
  b: number;
  delta: number;
  mcnemarP: number;
  holmP: number;
  /** Paired cluster bootstrap over images (same resamples for A and B): CI of the R@1 difference and its p. */
  bootstrap: { ci: { lo: number; hi: number }; p: number };
}

export interface LanguageComparison {
  language: string;
  textToImage: DirectionComparison;
  imageToText: DirectionComparison;
}

export interface ReportComparison {
  schema: "siglip-edge/audit-comparison";
  schemaVersion: 1;
  a: { model: string; revision: string };
  b: { model: string; revision: string };
  dataset: string;
  captionPolicy: string;
  languages: LanguageComparison[];
  /** Wilcoxon signed-rank of per-language R@1, A vs B. */
  acrossLanguages: { textToImage: WilcoxonResult; imageToText: WilcoxonResult };
  /** Per bias column: Wilcoxon of per-language RB, A vs B, and the mean RB of each. */
  bias: { column: string; meanA: number; meanB: number; wilcoxon: WilcoxonResult }[];
}

export function compareReports(a: AuditReport, b: AuditReport): ReportComparison {
  if (a.dataset.id !== b.dataset.id || a.dataset.images !== b.dataset.images) {
    throw new SiglipError("INVALID_ARGUMENT", `reports are on different datasets: ${a.dataset.id} (${a.dataset.images}) vs ${b.dataset.id} (${b.dataset.images})`);
  }
  if (a.settings.captionPolicy !== b.settings.captionPolicy) {
    throw new SiglipError("INVALID_ARGUMENT", `caption policies differ: ${a.settings.captionPolicy} vs ${b.settings.captionPolicy}`);
  }
  const bByLang = new Map(b.retrieval.languages.map((l) => [l.language, l]));
  const common = a.retrieval.languages.filter((l) => bByLang.has(l.language));
  if (common.length === 0) throw new SiglipError("INVALID_ARGUMENT", "the reports share no language");
  const rows = common.map((la) => {
    const lb = bByLang.get(la.language) ?? la;
    const dir = (key: "textToImage" | "imageToText") => {
      const n = la[key].queries;
      if (lb[key].queries !== n) throw new SiglipError("INVALID_ARGUMENT", `${la.language}: query counts differ (${n} vs ${lb[key].queries})`);
      const ra = la[key].recall["1"] ?? Number.NaN;
      const rb = lb[key].recall["1"] ?? Number.NaN;
      // I→T bitsets cover every image (images without a query are 0 in both), so compare all of them.
      const len = key === "textToImage" ? n : a.dataset.images;
      const m = mcnemarExact(unpackBits(la.hits[key], len), unpackBits(lb.hits[key], len));
      return { a: ra, b: rb, delta: ra - rb, mcnemarP: m.p, holmP: Number.NaN, bootstrap: { ci: { lo: Number.NaN, hi: Number.NaN }, p: Number.NaN } };
    };
    return { language: la.language, textToImage: dir("textToImage"), imageToText: dir("imageToText") };
  });
  // One resampling of images (A's seed and size) for every language, both directions and both models (§5).
  const I = a.dataset.images;
  const stats: RatioStat[] = [];
  for (const la of common) {
    const lb = bByLang.get(la.language) ?? la;
    for (const l of [la, lb]) {
      const caps = unpackBytes(l.perImage.captions);
      stats.push({ num: unpackBytes(l.perImage.textToImageHits), den: caps });
      stats.push({ num: unpackBits(l.hits.imageToText, I), den: Uint8Array.from(caps, (c) => (c > 0 ? 1 : 0)) });
    }
  }
  const reps = bootstrapRatios(stats, { resamples: a.settings.bootstrap.resamples, seed: a.settings.seed });
  rows.forEach((r, l) => {
    (["textToImage", "imageToText"] as const).forEach((key, d) => {
      const pb = pairedBootstrap(reps[4 * l + d] ?? [], reps[4 * l + 2 + d] ?? [], r[key].a, r[key].b, a.settings.bootstrap.level);
      r[key].bootstrap = { ci: pb.ci, p: pb.p };
    });
  });
  for (const key of ["textToImage", "imageToText"] as const) {
    const adj = holmAdjust(rows.map((r) => r[key].mcnemarP));
    rows.forEach((r, i) => (r[key].holmP = adj[i] ?? Number.NaN));
  }
  const wil = (key: "textToImage" | "imageToText") =>
    wilcoxonSignedRank(
      rows.map((r) => r[key].a),
      rows.map((r) => r[key].b),
    );
  const bias = a.bias.columns
    .filter((c) => b.bias.columns.includes(c))
    .map((column) => {
      const cellsB = new Map(b.bias.cells.filter((c) => c.column === column).map((c) => [c.language, c.rb]));
      const pairs = a.bias.cells.filter((c) => c.column === column && cellsB.has(c.language)).map((c) => [c.rb, cellsB.get(c.language) ?? 0] as const);
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      return {
        column,
        meanA: mean(pairs.map((p) => p[0])),
        meanB: mean(pairs.map((p) => p[1])),
        wilcoxon: wilcoxonSignedRank(
          pairs.map((p) => p[0]),
          pairs.map((p) => p[1]),
        ),
      };
    });
  return {
    schema: "siglip-edge/audit-comparison",
    schemaVersion: 1,
    a: { model: a.model.id, revision: a.model.revision },
    b: { model: b.model.id, revision: b.model.revision },
    dataset: a.dataset.id,
    captionPolicy: a.settings.captionPolicy,
    languages: rows,
    acrossLanguages: { textToImage: wil("textToImage"), imageToText: wil("imageToText") },
    bias,
  };
}
