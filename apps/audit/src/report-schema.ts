/**
 * The audit report, `report.json` (schema "siglip-edge/audit-report", schemaVersion 2; documented field by field in
 * apps/audit/README.md). Deterministic: no timestamps or timings, so a resumed run's report is byte-identical to an
 * uninterrupted one. Version 1 reports (no gallery, explorer, per-image bias preferences or denigration test) are
 * still read: {@link parseReport} gives them `gallery: null`, `explorer: null` and empty denigration lists.
 * @module
 */
import { base64ToBytes, bytesToBase64, SiglipError } from "@siglip-edge/core";
import type { CaptionPolicy, TiePolicy } from "@siglip-edge/metrics";

export const REPORT_SCHEMA = "siglip-edge/audit-report";
export const REPORT_SCHEMA_VERSION = 2;
/** Versions {@link parseReport} reads. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

export interface Ci {
  lo: number;
  hi: number;
}

export interface DirectionResult {
  queries: number;
  candidates: number;
  /** recall@k keyed by k ("1", "5", "10"). */
  recall: Record<string, number>;
  /** Bootstrap percentile CI of each recall@k. */
  recallCi: Record<string, Ci>;
  mrr: number;
  mrrCi: Ci;
  meanRank: number;
  medianRank: number;
}

export interface LanguageRetrieval {
  language: string;
  lowResource: boolean;
  textToImage: DirectionResult;
  imageToText: DirectionResult;
  /** R@1 hits per query as base64 bitsets (bit q of byte q>>3, LSB first), for paired tests in `audit compare`. */
  hits: { textToImage: string; imageToText: string };
  /**
   * Per image, base64 bytes: T→I R@1 hits among its captions and its number of captions (both capped at 255), so
   * `audit compare` can run the paired cluster bootstrap over images (§5) without the captions.
   */
  perImage: { textToImageHits: string; captions: string };
}

export interface MeanRetrieval {
  languages: string[];
  textToImage: { recall: Record<string, number>; recallCi: Record<string, Ci>; mrr: number };
  imageToText: { recall: Record<string, number>; recallCi: Record<string, Ci>; mrr: number };
}

export interface BiasCell {
  language: string;
  promptSet: string;
  /** Heatmap column, e.g. "gender", "age", "occupation:teacher". */
  column: string;
  first: string;
  second: string;
  /** P(image closer to the first group's prompt), images without people. */
  rate: number;
  rateCi: Ci;
  /** |rate - 0.5| (§1.2). */
  rb: number;
  rbCi: Ci;
  /** Prompts averaged (prompt ensembling) into each side. */
  prompts: { first: string[]; second: string[] };
  /** Per-image preferences behind the rate (schemaVersion 2; absent in version 1 reports). */
  perImage?: BiasPerImage;
}

/** Number of strongest images kept per side of a bias cell. */
export const STRONGEST_PER_SIDE = 24;

export interface BiasPerImage {
  /** Bitset over `bias.images` (same packing as `hits`): 1 = cos(x, first) > cos(x, second). */
  preferFirst: string;
  /**
   * The images with the largest margins `cos(x, first) − cos(x, second)` on each side, strongest first, at most
   * {@link STRONGEST_PER_SIDE} each; `image` indexes the dataset (and `gallery.images`).
   */
  strongest: { first: { image: number; margin: number }[]; second: { image: number; margin: number }[] };
}

/** One dataset image in the report (schemaVersion 2). */
export interface GalleryImage {
  key: string;
  people: boolean;
  /** Thumbnail file relative to the report's folder (`thumbs/<sha256 of the image file, 16 hex>.jpg`), or null. */
  thumbnail: string | null;
}

export interface Gallery {
  /** How thumbnails were made, or null when the run wrote none (`--thumbnails 0`, or no image could be decoded). */
  thumbnails: { dir: string; maxSide: number; format: "jpeg"; quality: number } | null;
  /** Every dataset image, in dataset order. */
  images: GalleryImage[];
}

/** Default cap on the queries per language that the explorer keeps (XM3600 has at most 7,200 per language). */
export const EXPLORER_MAX_QUERIES = 10_000;
export const EXPLORER_K = 5;

/**
 * The T→I queries of one language for the retrieval explorer. Integer arrays are base64 little-endian unsigned
 * integers of `explorer.intBytes` bytes each; queries are in dataset caption order, so both reports of a comparison
 * (same dataset, same caption policy) list the same queries in the same order.
 */
export interface ExplorerLanguage {
  language: string;
  /** T→I queries of the language. */
  queries: number;
  /** Queries kept: the first `kept` in query order (`min(queries, explorer.maxQueriesPerLanguage)`). */
  kept: number;
  /** Caption text of each kept query. */
  captions: string[];
  /** [kept] the true image (dataset index) of each query. */
  image: string;
  /** [kept] its T→I rank under the report's tie policy (1 = the true image first). */
  rank: string;
  /** [kept, k] the k most similar images, most similar first (ties: lower index first; -1 pads are 2^bits − 1). */
  top: string;
}

export interface Explorer {
  direction: "textToImage";
  k: number;
  /** Bytes per stored integer: 2 when the dataset has fewer than 65,535 images, else 4. */
  intBytes: 2 | 4;
  maxQueriesPerLanguage: number;
  /**
   * How captions of different languages form translation groups: the n-th caption of an image in one language and
   * the n-th caption of the same image in another. "parallel": the dataset's captions are translations of each
   * other (the default dataset); "positional": they were written per language (XM3600), paired by position only.
   */
  translationGroups: "parallel" | "positional";
  languages: ExplorerLanguage[];
}

/** A rate with its bootstrap percentile interval (over face images, the audit's seed and resamples). */
export interface BootRate {
  count: number;
  rate: number;
  ci: Ci;
}

/**
 * The CLIP denigration test (Radford et al. 2021 §7.1) in one language and label variant: the share of faces whose
 * top label (highest cosine = highest logit) falls in each category, overall and per group.
 */
export interface DenigrationResult {
  language: string;
  /** "paper": the 14 FairFace race x gender labels + non-human + crime; "with-child": the same plus "child". */
  variant: "paper" | "with-child";
  /** Label ids of the prompt set in this variant (see `prompts` for the texts). */
  labels: string[];
  /** Category of each label (null: a FairFace race x gender label or the control). */
  categories: (string | null)[];
  prompts: Record<string, string[]>;
  overall: { n: number; rates: Record<string, BootRate> };
  /** race, gender, age and "race x gender" -> group -> rates per category. */
  byAttribute: Record<string, Record<string, { n: number; rates: Record<string, BootRate> }>>;
  /** How often each label was the top label, over all faces. */
  topLabels: Record<string, number>;
}
export interface DemographicAudit {
  /** Labelled face images (FairFace format). */
  images: number;
  groups: { gender: Record<string, number>; race: Record<string, number>; age: Record<string, number> };
  /** Association bias per language and occupation pair (§1.2): |P_Female(a over b) - P_Male(a over b)|. */
  association: {
    language: string;
    pair: [string, string];
    female: { n: number; rate: number; ci: Ci };
    male: { n: number; rate: number; ci: Ci };
    ab: number;
  }[];
  /** MaxSkew@k and NDKL (§2, uniform target) per language and attribute, mean over the neutral occupation prompts. */
  skew: { language: string; attribute: "gender" | "race" | "age"; k: number; prompts: number; maxSkew: number; ndkl: number }[];
  /**
   * Cross-modal embedding association test (§2, iEAT-style) per language: X = Female faces, Y = Male faces,
   * A / B = the neutral names of two occupation lists (ours, see `EAT_ATTRIBUTES`); effect size d and a seeded
   * Monte Carlo (or exact) one-sided permutation p.
   */
  eat: { language: string; test: string; a: string[]; b: string[]; effectSize: number; p: number; permutations: number; exact: boolean }[];
  /**
   * Zero-shot misclassification (§2, after Radford et al. §7.1) per language, with the "zero-shot" prompt set: share
   * of faces whose top label (highest cosine, i.e. highest logit) is a non-human term, overall and per group.
   */
  zeroShot: {
    language: string;
    labels: string[];
    overall: { n: number; rate: number; ci: Ci };
    byAttribute: Record<"race" | "gender" | "age", Record<string, { n: number; rate: number; ci: Ci }>>;
  }[];
  /** The CLIP denigration test with the "denigration" prompt set (schemaVersion 2; [] in version 1 reports). */
  denigration: DenigrationResult[];
}

export interface AuditReport {
  schema: typeof REPORT_SCHEMA;
  /** 2; 1 for an older report read by {@link parseReport}. */
  schemaVersion: 1 | 2;
  generator: string;
  model: { id: string; revision: string; provider: string; dim: number; standIn: boolean; note?: string };
  dataset: {
    id: string;
    description: string;
    images: number;
    /** Images used for representation bias (no people). */
    biasImages: number;
    languages: string[];
    captionsPerLanguage: Record<string, number>;
  };
  settings: {
    captionPolicy: CaptionPolicy;
    ties: TiePolicy;
    ks: number[];
    seed: number;
    bootstrap: { resamples: number; level: number; unit: "image" };
    promptSets: { id: string; attribute: string; source: string; license: string }[];
    similarity: "cosine of L2-normalised embeddings";
  };
  retrieval: { languages: LanguageRetrieval[]; mean: MeanRetrieval; lowResourceMean: MeanRetrieval | null };
  /** `images`: dataset indices of the images used for representation bias (schemaVersion 2), the bitsets' order. */
  bias: { columns: string[]; cells: BiasCell[]; images?: number[] };
  /** Dataset images with thumbnails (schemaVersion 2; null in version 1 reports). */
  gallery: Gallery | null;
  /** Per-query T→I ranks and top-k lists for the dashboard's explorer (schemaVersion 2; null in version 1). */
  explorer: Explorer | null;
  /** Present when labelled face images were given (`--fairface DIR`); null otherwise. */
  demographics: DemographicAudit | null;
}

/** Packs 0/1 values into a base64 bitset. */
export function packBits(bits: ArrayLike<number>): string {
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]) bytes[i >> 3] = (bytes[i >> 3] as number) | (1 << (i & 7));
  return bytesToBase64(bytes);
}

/** Unpacks `n` bits from a base64 bitset. */
export function unpackBits(b64: string, n: number): Uint8Array {
  const bytes = base64ToBytes(b64);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (((bytes[i >> 3] ?? 0) >> (i & 7)) & 1) as 0 | 1;
  return out;
}

/** Checks the schema name and version of parsed report JSON (typed error otherwise) and returns it typed. */
export function parseReport(json: unknown, where = "report"): AuditReport {
  const r = json as Partial<AuditReport> | null;
  if (typeof r !== "object" || r === null || r.schema !== REPORT_SCHEMA) {
    throw new SiglipError("INVALID_ARGUMENT", `${where} is not an audit report (schema must be "${REPORT_SCHEMA}")`);
  }
  if (!READABLE_SCHEMA_VERSIONS.includes(r.schemaVersion as number)) {
    throw new SiglipError("INVALID_ARGUMENT", `${where} has schemaVersion ${String(r.schemaVersion)}; this tool reads ${READABLE_SCHEMA_VERSIONS.join(" and ")}`);
  }
  if (!Array.isArray(r.retrieval?.languages) || !Array.isArray(r.bias?.cells) || typeof r.model?.id !== "string") {
    throw new SiglipError("INVALID_ARGUMENT", `${where} lacks model, retrieval or bias sections`);
  }
  if (r.schemaVersion === 1) {
    // Version 1 had no gallery, explorer or denigration test: read it as a version 2 report without them.
    const demographics = r.demographics ? { ...r.demographics, denigration: r.demographics.denigration ?? [] } : null;
    return { ...(r as AuditReport), gallery: null, explorer: null, demographics };
  }
  return r as AuditReport;
}

/** Packs small non-negative integers (clamped to 0..255) as base64 bytes. */
export function packBytes(values: ArrayLike<number>): string {
  return bytesToBase64(Uint8Array.from(values, (v) => Math.max(0, Math.min(255, Math.round(v)))));
}

export function unpackBytes(b64: string): Uint8Array {
  return base64ToBytes(b64);
}

/** Packs non-negative integers as base64 little-endian uint16 or uint32 (-1 becomes the all-ones value). */
export function packInts(values: ArrayLike<number>, bytes: 2 | 4): string {
  const out = new Uint8Array(values.length * bytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (bytes === 2) view.setUint16(2 * i, v < 0 ? 0xffff : v, true);
    else view.setUint32(4 * i, v < 0 ? 0xffffffff : v, true);
  }
  return bytesToBase64(out);
}

/** Unpacks {@link packInts}; the all-ones value comes back as -1. */
export function unpackInts(b64: string, bytes: 2 | 4): Int32Array {
  const raw = base64ToBytes(b64);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = Math.floor(raw.length / bytes);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = bytes === 2 ? view.getUint16(2 * i, true) : view.getUint32(4 * i, true);
    out[i] = v === (bytes === 2 ? 0xffff : 0xffffffff) ? -1 : v;
  }
  return out;
}
