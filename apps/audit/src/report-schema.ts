/**
 * The audit report, `report.json` (schema "siglip-edge/audit-report", schemaVersion 1; documented field by field in
 * apps/audit/README.md). Deterministic: no timestamps or timings, so a resumed run's report is byte-identical to an
 * uninterrupted one.
 * @module
 */
import { base64ToBytes, bytesToBase64, SiglipError } from "@siglip-edge/core";
import type { CaptionPolicy, TiePolicy } from "@siglip-edge/metrics";

export const REPORT_SCHEMA = "siglip-edge/audit-report";
export const REPORT_SCHEMA_VERSION = 1;

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
}

export interface AuditReport {
  schema: typeof REPORT_SCHEMA;
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
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
  bias: { columns: string[]; cells: BiasCell[] };
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
  if (r.schemaVersion !== REPORT_SCHEMA_VERSION) {
    throw new SiglipError("INVALID_ARGUMENT", `${where} has schemaVersion ${String(r.schemaVersion)}; this tool reads ${REPORT_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(r.retrieval?.languages) || !Array.isArray(r.bias?.cells) || typeof r.model?.id !== "string") {
    throw new SiglipError("INVALID_ARGUMENT", `${where} lacks model, retrieval or bias sections`);
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
