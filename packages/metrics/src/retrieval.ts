/**
 * Image-text retrieval in both directions (audit-metrics.md §1.4 and §5): ranks of the first relevant item,
 * recall@k, MRR, mean and median rank, under an explicit caption policy and tie policy.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { SimilarityMatrix } from "./similarity.ts";
import { mean, median } from "./stats.ts";

/**
 * "all": every caption is a query and a candidate (big_vision, the SigLIP 2 paper);
 * "first": only each image's first caption (CLIP_benchmark's crossmodal3600). §1.5: always report it.
 */
export type CaptionPolicy = "all" | "first";

/** "optimistic": ties with the relevant item do not count against it (§5 `>`); "pessimistic": they do (`>=`). */
export type TiePolicy = "optimistic" | "pessimistic";

/** Summary of one direction. */
export interface RankSummary {
  /** Number of queries. */
  queries: number;
  /** Number of candidates each query is ranked against. */
  candidates: number;
  /** recall@k for each requested k, keyed by k. */
  recall: Record<string, number>;
  mrr: number;
  meanRank: number;
  medianRank: number;
}

export interface RetrievalOptions {
  captionPolicy?: CaptionPolicy;
  ties?: TiePolicy;
  /** Cut-offs for recall, default [1, 5, 10]. */
  ks?: readonly number[];
}

export interface RetrievalResult {
  captionPolicy: CaptionPolicy;
  ties: TiePolicy;
  textToImage: RankSummary;
  imageToText: RankSummary;
  /** Per-query ranks, for bootstrap and paired tests. */
  perQuery: {
    /** Indices (into the original texts) of the captions used. */
    texts: Int32Array;
    /** T→I rank of each used caption, aligned with `texts`. */
    textToImageRanks: Int32Array;
    /** I→T rank of each image (0 for an image without a used caption; such images are not queries). */
    imageToTextRanks: Int32Array;
  };
}

/**
 * The captions a policy keeps, as indices into `owner`.
 * @param owner [T] int: image index of each caption
 */
export function selectCaptions(owner: ArrayLike<number>, nImages: number, policy: CaptionPolicy): Int32Array {
  checkOwner(owner, nImages);
  if (policy === "all") return Int32Array.from({ length: owner.length }, (_, t) => t);
  const seen = new Uint8Array(nImages);
  const kept: number[] = [];
  for (let t = 0; t < owner.length; t++) {
    const i = owner[t] as number;
    if (seen[i] === 0) {
      seen[i] = 1;
      kept.push(t);
    }
  }
  return Int32Array.from(kept);
}

function checkOwner(owner: ArrayLike<number>, nImages: number): void {
  for (let t = 0; t < owner.length; t++) {
    const i = owner[t] as number;
    if (!Number.isInteger(i) || i < 0 || i >= nImages) {
      throw new SiglipError("INVALID_ARGUMENT", `caption ${t} belongs to image ${i}, outside [0, ${nImages})`);
    }
  }
}

/**
 * T→I ranks (§5): `rank_t = 1 + #{i != owner(t) : S[i,t] > S[owner(t),t]}` (`>=` when pessimistic).
 * @param S [I, T] similarities
 * @param owner [T] image index of each caption
 * @param texts the caption indices to use as queries
 * @returns [texts.length] int ranks, 1-based
 */
export function textToImageRanks(S: SimilarityMatrix, owner: ArrayLike<number>, texts: Int32Array, ties: TiePolicy = "optimistic"): Int32Array {
  const { data, rows: I, cols: T } = S;
  const out = new Int32Array(texts.length);
  const pess = ties === "pessimistic";
  for (let q = 0; q < texts.length; q++) {
    const t = texts[q] as number;
    const own = owner[t] as number;
    const ref = data[own * T + t] as number;
    let r = 1;
    for (let i = 0; i < I; i++) {
      if (i === own) continue;
      const s = data[i * T + t] as number;
      if (s > ref || (pess && s === ref)) r++;
    }
    out[q] = r;
  }
  return out;
}

/**
 * I→T ranks (§5): `rank_i = 1 + #{t not in caps(i) : S[i,t] > max_{t' in caps(i)} S[i,t']}` over the gallery `texts`
 * (a hit if any of the image's captions is within the top k, as big_vision's image_text_retrieval computes it).
 * @param S [I, T] similarities
 * @param owner [T] image index of each caption
 * @param texts gallery caption indices
 * @returns [I] int ranks, 1-based; 0 for an image with no caption in the gallery
 */
export function imageToTextRanks(S: SimilarityMatrix, owner: ArrayLike<number>, texts: Int32Array, ties: TiePolicy = "optimistic"): Int32Array {
  const { data, rows: I, cols: T } = S;
  const best = new Float64Array(I).fill(Number.NEGATIVE_INFINITY);
  for (let q = 0; q < texts.length; q++) {
    const t = texts[q] as number;
    const i = owner[t] as number;
    best[i] = Math.max(best[i] as number, data[i * T + t] as number);
  }
  const out = new Int32Array(I);
  const pess = ties === "pessimistic";
  for (let i = 0; i < I; i++) {
    const ref = best[i] as number;
    if (ref === Number.NEGATIVE_INFINITY) continue;
    let r = 1;
    for (let q = 0; q < texts.length; q++) {
      const t = texts[q] as number;
      if (owner[t] === i) continue;
      const s = data[i * T + t] as number;
      if (s > ref || (pess && s === ref)) r++;
    }
    out[i] = r;
  }
  return out;
}

/**
 * Recall@k, MRR, mean and median rank of a list of 1-based ranks (§5: `R@k = mean[rank <= k]`, `MRR = mean 1/rank`).
 * Ranks equal to 0 (no query) are skipped.
 */
export function summarizeRanks(ranks: ArrayLike<number>, candidates: number, ks: readonly number[] = [1, 5, 10]): RankSummary {
  const used: number[] = [];
  for (let q = 0; q < ranks.length; q++) if ((ranks[q] as number) > 0) used.push(ranks[q] as number);
  const recall: Record<string, number> = {};
  for (const k of ks) recall[String(k)] = mean(used.map((r) => (r <= k ? 1 : 0)));
  return {
    queries: used.length,
    candidates,
    recall,
    mrr: mean(used.map((r) => 1 / r)),
    meanRank: mean(used),
    medianRank: median(used),
  };
}

/**
 * Retrieval in both directions for one language.
 * @param S [I, T] similarities of all images with all captions
 * @param owner [T] image index of each caption
 */
export function retrieval(S: SimilarityMatrix, owner: ArrayLike<number>, opts: RetrievalOptions = {}): RetrievalResult {
  const captionPolicy = opts.captionPolicy ?? "all";
  const ties = opts.ties ?? "optimistic";
  const ks = opts.ks ?? [1, 5, 10];
  if (owner.length !== S.cols) {
    throw new SiglipError("SHAPE_MISMATCH", `${owner.length} caption owners for a similarity matrix with ${S.cols} columns`);
  }
  const texts = selectCaptions(owner, S.rows, captionPolicy);
  const t2i = textToImageRanks(S, owner, texts, ties);
  const i2t = imageToTextRanks(S, owner, texts, ties);
  return {
    captionPolicy,
    ties,
    textToImage: summarizeRanks(t2i, S.rows, ks),
    imageToText: summarizeRanks(i2t, texts.length, ks),
    perQuery: { texts, textToImageRanks: t2i, imageToTextRanks: i2t },
  };
}
