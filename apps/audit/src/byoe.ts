/**
 * Bring-your-own-embeddings audits (`siglip audit bias` / `siglip audit retrieval`): metrics on arrays from any
 * encoder, as JSON-ready objects.
 * @module
 */
import { assertShape, meanNormalized, SiglipError, type Tensor } from "@siglip-edge/core";
import {
  bootstrapRatios,
  cosineSimilarityMatrix,
  percentileInterval,
  representationBias,
  retrievalRatioStats,
  streamRetrieval,
  type CaptionPolicy,
  type SimilarityKernel,
  type TiePolicy,
} from "@siglip-edge/metrics";

export interface NamedEmbeddings {
  name: string;
  /** [P, D] float32: the group's prompt embeddings, averaged after L2 normalisation (prompt ensembling). */
  embeddings: Tensor<"float32">;
}

function rows(t: Tensor<"float32">): Float32Array[] {
  const [N, D] = t.dims as [number, number];
  return Array.from({ length: N }, (_, i) => t.data.subarray(i * D, (i + 1) * D));
}

/**
 * Representation bias between every pair of groups (first vs second in the order given), with Wilson and
 * seeded image-bootstrap intervals, plus each group's share of nearest images.
 * @param images [N, D] float32
 */
export function biasFromEmbeddings(images: Tensor<"float32">, groups: readonly NamedEmbeddings[], opts: { seed?: number; resamples?: number } = {}) {
  assertShape("images", images.dims, [null, null]);
  const D = images.dims[1] as number;
  if (groups.length < 2) throw new SiglipError("INVALID_ARGUMENT", "give at least two groups");
  const centroids = groups.map((g) => {
    assertShape(`group ${g.name}`, g.embeddings.dims, [null, D]);
    if ((g.embeddings.dims[0] as number) === 0) throw new SiglipError("INVALID_ARGUMENT", `group ${g.name} has no embeddings`);
    return meanNormalized(rows(g.embeddings));
  });
  const seed = opts.seed ?? 0;
  const resamples = opts.resamples ?? 1000;
  const N = images.dims[0] as number;
  const ones = new Float64Array(N).fill(1);
  const pairs = [];
  for (let a = 0; a < groups.length; a++) {
    for (let b = a + 1; b < groups.length; b++) {
      const r = representationBias(images, centroids[a] as Float32Array, centroids[b] as Float32Array);
      const [reps] = bootstrapRatios([{ num: r.hits, den: ones }], { resamples, seed });
      pairs.push({
        first: groups[a]?.name,
        second: groups[b]?.name,
        n: r.n,
        preferFirst: r.preferFirst,
        rate: r.rate,
        rateWilsonCi: r.rateCi,
        rateBootstrapCi: percentileInterval(reps ?? []),
        rb: r.rb,
        rbCi: r.rbCi,
      });
    }
  }
  const S = cosineSimilarityMatrix(images, { dtype: "float32", dims: [groups.length, D], data: Float32Array.from(centroids.flatMap((c) => Array.from(c))) });
  const nearest = new Array<number>(groups.length).fill(0);
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let g = 1; g < groups.length; g++) if ((S.data[i * groups.length + g] as number) > (S.data[i * groups.length + best] as number)) best = g;
    nearest[best] = (nearest[best] as number) + 1;
  }
  return {
    metric: "representation bias (audit-metrics.md §1.2): rate = P(cos(x, first) > cos(x, second)), rb = |rate - 0.5|",
    images: N,
    dim: D,
    seed,
    resamples,
    groups: groups.map((g, i) => ({ name: g.name, prompts: g.embeddings.dims[0], nearestShare: (nearest[i] as number) / N })),
    pairs,
  };
}

/** Parses PAIRS.json: an owner array `[img, ...]` (one per text), `{"owner": [...]}`, or `[[text, image], ...]`. */
export function parsePairs(json: unknown, nTexts: number, nImages: number): Int32Array {
  let owner: unknown[] | undefined;
  if (Array.isArray(json) && json.every((x) => typeof x === "number")) owner = json;
  else if (typeof json === "object" && json !== null && !Array.isArray(json) && Array.isArray((json as Record<string, unknown>)["owner"])) {
    owner = (json as Record<string, unknown[]>)["owner"];
  } else if (Array.isArray(json) && json.every((x) => Array.isArray(x) && x.length === 2)) {
    const out = new Array<unknown>(nTexts).fill(undefined);
    for (const [t, i] of json as [unknown, unknown][]) {
      if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= nTexts) throw new SiglipError("INVALID_ARGUMENT", `pair text index ${String(t)} outside [0, ${nTexts})`);
      out[t] = i;
    }
    owner = out;
  }
  if (owner === undefined) throw new SiglipError("INVALID_ARGUMENT", "pairs must be [image per text], {\"owner\": [...]} or [[text, image], ...]");
  if (owner.length !== nTexts) throw new SiglipError("SHAPE_MISMATCH", `pairs give ${owner.length} owners for ${nTexts} texts`);
  return Int32Array.from(owner, (i, t) => {
    if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= nImages) throw new SiglipError("INVALID_ARGUMENT", `text ${t} pairs with image ${String(i)}, outside [0, ${nImages})`);
    return i;
  });
}

/**
 * Retrieval both ways with image-bootstrap CIs, streamed through `kernel` (default: pure JS; the CLI passes
 * onnxruntime-node's MatMul): the similarity matrix is never held, CIs come from the per-query ranks.
 * @param images [I, D] float32, @param texts [T, D] float32, @param owner [T] image of each text
 */
export async function retrievalFromEmbeddings(
  images: Tensor<"float32">,
  texts: Tensor<"float32">,
  owner: Int32Array,
  opts: { captionPolicy?: CaptionPolicy; ties?: TiePolicy; seed?: number; resamples?: number; kernel?: SimilarityKernel } = {},
) {
  const ks = [1, 5, 10];
  const r = await streamRetrieval(images, texts, owner, { captionPolicy: opts.captionPolicy ?? "all", ties: opts.ties ?? "optimistic", ks, ...(opts.kernel ? { kernel: opts.kernel } : {}) });
  const seed = opts.seed ?? 0;
  const resamples = opts.resamples ?? 1000;
  // [T→I R@1, R@5, R@10, MRR, I→T R@1, R@5, R@10, MRR]
  const reps = bootstrapRatios(retrievalRatioStats(r.perQuery, owner, images.dims[0] as number, ks), { resamples, seed });
  const ci = (j: number) => percentileInterval(reps[j] ?? []);
  const direction = (s: typeof r.textToImage, base: number) => ({ ...s, recallCi: Object.fromEntries(ks.map((k, j) => [String(k), ci(base + j)])), mrrCi: ci(base + ks.length) });
  return {
    captionPolicy: r.captionPolicy,
    ties: r.ties,
    seed,
    resamples,
    kernel: r.kernel,
    textToImage: direction(r.textToImage, 0),
    imageToText: direction(r.imageToText, ks.length + 1),
  };
}
