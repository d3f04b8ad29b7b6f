/**
 * Retrieval both ways straight from embeddings, without holding the similarity matrix: tiles of `S = I · Tᵀ` from a
 * {@link SimilarityKernel} stream into true-item-rank counters (and optional top-k lists), with the definitions,
 * caption policies and tie policies of {@link retrieval} (audit-metrics.md §5), to the same ranks.
 *
 * Why two phases: a T→I rank compares column t with `S[owner(t), t]` and an I→T rank compares row i with the best of
 * its own captions, and those reference values sit in other tiles than most of what they are compared with. The
 * gallery captions are sorted by owner, so the references of an image block all lie in one "diagonal" tile (the
 * block's rows x its own captions). Phase 1 computes every diagonal tile (references, then counts); phase 2 the
 * rest of each block's rows, left and right of its diagonal tile. Every element of S is computed once, by one
 * kernel call, and counted once; a reference is the very value its comparisons would have used in the full matrix.
 *
 * Memory: the normalised embeddings, one tile of `blockRows x captions` floats (14.7 MB for 512 x 7,200) and
 * O(I + T) counters; the kernel's own buffers aside, nothing grows with I x T.
 * @module
 */
import { assertShape, SiglipError, type Tensor } from "@siglip-edge/core";
import { jsKernel, type SimilarityKernel, type SyncSimilarityKernel } from "./kernel.ts";
import { selectCaptions, summarizeRanks, type RetrievalOptions, type RetrievalResult } from "./retrieval.ts";
import { normalizeRowInto, normalizeRows } from "./similarity.ts";

export interface StreamRetrievalOptions extends RetrievalOptions {
  /** Tile producer, default {@link jsKernel}. */
  kernel?: SimilarityKernel;
  /** Image rows per tile, default 512. Memory per tile: blockRows x gallery captions x 4 bytes (14.7 MB at 7,200). */
  blockRows?: number;
  /** Also keep the k most similar items of every query (default 0: off). */
  topK?: number;
  /** The image rows are already L2-normalised (e.g. normalised once and reused for every language). */
  imagesNormalized?: boolean;
}

/** The k most similar items per query, most similar first; equal similarities in ascending index order; -1 pads. */
export interface TopK {
  k: number;
  /** [queries, k] image indices, aligned with `perQuery.texts`. */
  textToImage: Int32Array;
  /** [images, k] caption indices (into the original texts), over the gallery of the caption policy. */
  imageToText: Int32Array;
}

export interface StreamedRetrieval extends RetrievalResult {
  /** Name of the kernel that computed the similarities. */
  kernel: string;
  /** Present when `topK` > 0. */
  top?: TopK;
}

/** One tile request: `A[m, k] · B[n, k]ᵀ`, into `out` if the kernel wants it. */
interface Tile {
  a: Float32Array;
  m: number;
  b: Float32Array;
  n: number;
  k: number;
  out: Float32Array;
}

/**
 * The largest float32 below `x` (x itself for -Infinity and NaN). For float32 values s and x, `s >= x` is exactly
 * `s > below(x)`, so the pessimistic policy runs the optimistic loop on lowered references.
 */
function below(x: number): number {
  if (x === 0) return -1.401298464324817e-45; // -(smallest subnormal): s >= 0 (or -0) iff s > it
  if (!Number.isFinite(x)) return x === Number.POSITIVE_INFINITY ? 3.4028234663852886e38 : x;
  const f = new Float32Array([x]);
  const bits = new Int32Array(f.buffer);
  bits[0]! += x > 0 ? -1 : 1;
  return f[0]!;
}

/** Counters fed by tiles; references come from the diagonal tiles (phase 1) before any other tile is counted. */
class RankCounter {
  readonly ref: Float32Array; // [Q] S[owner(q), q] in sorted caption order
  readonly best: Float32Array; // [I] max over an image's own gallery captions
  readonly ownAtBest: Int32Array; // [I] own captions equal to best (pessimistic I→T correction)
  readonly aboveT: Int32Array; // [Q] images with S > ref (>= when pessimistic, the true image included)
  readonly aboveI: Int32Array; // [I] gallery captions with S > best (>= when pessimistic, own ones included)
  readonly #refCmp: Float32Array; // ref, or below(ref) when pessimistic
  readonly #bestCmp: Float32Array; // best, or below(best) when pessimistic
  readonly #ownerSorted: Int32Array;
  readonly #pess: boolean;
  readonly #top: TopLists | undefined;

  constructor(I: number, ownerSorted: Int32Array, pess: boolean, top: TopLists | undefined) {
    const Q = ownerSorted.length;
    this.ref = new Float32Array(Q);
    this.best = new Float32Array(I).fill(Number.NEGATIVE_INFINITY);
    this.ownAtBest = new Int32Array(I);
    this.aboveT = new Int32Array(Q);
    this.aboveI = new Int32Array(I);
    this.#refCmp = new Float32Array(Q);
    this.#bestCmp = new Float32Array(I).fill(Number.NEGATIVE_INFINITY);
    this.#ownerSorted = ownerSorted;
    this.#pess = pess;
    this.#top = top;
  }

  /** A diagonal tile: rows [i0, i0 + m) x their own captions [c0, c0 + w), all of them (captions sorted by owner). */
  diagonal(tile: Float32Array, i0: number, m: number, c0: number, w: number): void {
    const { ref, best, ownAtBest } = this;
    const owners = this.#ownerSorted;
    const lower = this.#pess ? below : (x: number) => x;
    for (let j = 0; j < w; j++) {
      const i = owners[c0 + j]!;
      const s = tile[(i - i0) * w + j]!;
      ref[c0 + j] = s;
      this.#refCmp[c0 + j] = lower(s);
      if (s > best[i]!) best[i] = s;
    }
    for (let j = 0; j < w; j++) {
      const i = owners[c0 + j]!;
      if (ref[c0 + j] === best[i]) ownAtBest[i]!++;
    }
    for (let i = i0; i < i0 + m; i++) this.#bestCmp[i] = lower(best[i]!);
    this.count(tile, i0, m, c0, w);
  }

  /** Any tile once the references it needs are known: rows [i0, i0 + m) x sorted captions [c0, c0 + w). */
  count(tile: Float32Array, i0: number, m: number, c0: number, w: number): void {
    const ref = this.#refCmp.subarray(c0, c0 + w);
    const above = this.aboveT.subarray(c0, c0 + w);
    const best = this.#bestCmp;
    const aboveI = this.aboveI;
    // About 1 ns per element in V8 (unrolling over rows measured slower).
    for (let r = 0; r < m; r++) {
      const bi = best[i0 + r]!;
      const base = r * w;
      let n = 0;
      for (let j = 0; j < w; j++) {
        const s = tile[base + j]!;
        if (s > ref[j]!) above[j]!++;
        if (s > bi) n++;
      }
      aboveI[i0 + r]! += n;
    }
    this.#top?.add(tile, i0, m, c0, w);
  }
}

/** Bounded top-k lists per caption (over images) and per image (over captions), kept sorted. */
class TopLists {
  readonly k: number;
  readonly tVal: Float32Array; // [Q, k] sorted caption order
  readonly tIdx: Int32Array;
  readonly iVal: Float32Array; // [I, k]
  readonly iIdx: Int32Array; // original caption indices
  readonly #orig: Int32Array; // sorted position -> original caption index

  constructor(k: number, I: number, orig: Int32Array) {
    const Q = orig.length;
    this.k = k;
    this.tVal = new Float32Array(Q * k).fill(Number.NEGATIVE_INFINITY);
    this.tIdx = new Int32Array(Q * k).fill(-1);
    this.iVal = new Float32Array(I * k).fill(Number.NEGATIVE_INFINITY);
    this.iIdx = new Int32Array(I * k).fill(-1);
    this.#orig = orig;
  }

  add(tile: Float32Array, i0: number, m: number, c0: number, w: number): void {
    const { k, tVal, tIdx, iVal, iIdx } = this;
    const orig = this.#orig;
    for (let r = 0; r < m; r++) {
      const i = i0 + r;
      for (let j = 0; j < w; j++) {
        const s = tile[r * w + j]!;
        insert(tVal, tIdx, (c0 + j) * k, k, s, i);
        insert(iVal, iIdx, i * k, k, s, orig[c0 + j]!);
      }
    }
  }
}

/** Inserts (s, idx) into the sorted list at [at, at + k) if it ranks above its last entry (higher s, then lower idx). */
function insert(val: Float32Array, idx: Int32Array, at: number, k: number, s: number, id: number): void {
  const last = at + k - 1;
  const lv = val[last]!;
  if (!(s > lv || (s === lv && (idx[last]! < 0 || id < idx[last]!)))) return;
  let p = last;
  while (p > at && (val[p - 1]! < s || (val[p - 1] === s && (idx[p - 1]! < 0 || idx[p - 1]! > id)))) {
    val[p] = val[p - 1]!;
    idx[p] = idx[p - 1]!;
    p--;
  }
  val[p] = s;
  idx[p] = id;
}

/** Validated inputs, the owner-sorted gallery and the tile plan of one retrieval. */
class StreamedRun {
  readonly #I: number;
  readonly #D: number;
  readonly #img: Float32Array; // [I, D] unit rows
  readonly #txt: Float32Array; // [Q, D] unit rows of the gallery, sorted by owner
  readonly #capStart: Int32Array; // [I + 1] sorted caption range of each image
  readonly #selPos: Int32Array; // sorted position -> position in `texts` (the selected captions)
  readonly #texts: Int32Array;
  readonly #counter: RankCounter;
  readonly #top: TopLists | undefined;
  readonly #blockRows: number;
  readonly #opts: Required<Pick<StreamRetrievalOptions, "captionPolicy" | "ties" | "ks">>;

  constructor(images: Tensor<"float32">, texts: Tensor<"float32">, owner: ArrayLike<number>, opts: StreamRetrievalOptions) {
    assertShape("images", images.dims, [null, null]);
    const [I, D] = images.dims as [number, number];
    assertShape("texts", texts.dims, [null, D]);
    const T = texts.dims[0] as number;
    if (owner.length !== T) throw new SiglipError("SHAPE_MISMATCH", `${owner.length} caption owners for ${T} text embeddings`);
    const blockRows = opts.blockRows ?? 512;
    const topK = opts.topK ?? 0;
    if (!Number.isInteger(blockRows) || blockRows < 1) throw new SiglipError("INVALID_ARGUMENT", `blockRows must be a positive integer, got ${blockRows}`);
    if (!Number.isInteger(topK) || topK < 0) throw new SiglipError("INVALID_ARGUMENT", `topK must be a non-negative integer, got ${topK}`);
    this.#opts = { captionPolicy: opts.captionPolicy ?? "all", ties: opts.ties ?? "optimistic", ks: opts.ks ?? [1, 5, 10] };
    this.#I = I;
    this.#D = D;
    this.#blockRows = blockRows;
    this.#img = opts.imagesNormalized === true ? images.data : normalizeRows(images);
    const sel = selectCaptions(owner, I, this.#opts.captionPolicy);
    const Q = sel.length;
    // Counting sort of the gallery by owner, stable in caption order.
    const capStart = new Int32Array(I + 1);
    for (const t of sel) capStart[(owner[t] as number) + 1]!++;
    for (let i = 0; i < I; i++) capStart[i + 1]! += capStart[i]!;
    const fill = capStart.slice(0, I);
    const selPos = new Int32Array(Q);
    const ownerSorted = new Int32Array(Q);
    const orig = new Int32Array(Q);
    const txt = new Float32Array(Q * D);
    sel.forEach((t, p) => {
      const i = owner[t] as number;
      const q = fill[i]!++;
      selPos[q] = p;
      ownerSorted[q] = i;
      orig[q] = t;
      normalizeRowInto(texts.data, t, D, txt, q);
    });
    this.#txt = txt;
    this.#capStart = capStart;
    this.#selPos = selPos;
    this.#texts = sel;
    this.#top = topK > 0 ? new TopLists(topK, I, orig) : undefined;
    this.#counter = new RankCounter(I, ownerSorted, this.#opts.ties === "pessimistic", this.#top);
  }

  /** Yields tile requests; each `next(product)` hands back the product of the previous request. */
  *tiles(): Generator<Tile, void, Float32Array> {
    const I = this.#I;
    const D = this.#D;
    const Q = this.#capStart[I]!;
    const ib = this.#blockRows;
    const out = new Float32Array(Math.min(ib, I) * Q);
    const img = this.#img;
    const txt = this.#txt;
    const cap = this.#capStart;
    const rows = (i0: number, m: number) => img.subarray(i0 * D, (i0 + m) * D);
    const cols = (c0: number, c1: number) => txt.subarray(c0 * D, c1 * D);
    for (let i0 = 0; i0 < I; i0 += ib) {
      const m = Math.min(ib, I - i0);
      const c0 = cap[i0]!;
      const c1 = cap[i0 + m]!;
      if (c1 === c0) continue;
      const tile = yield { a: rows(i0, m), m, b: cols(c0, c1), n: c1 - c0, k: D, out };
      this.#counter.diagonal(tile, i0, m, c0, c1 - c0);
    }
    for (let i0 = 0; i0 < I; i0 += ib) {
      const m = Math.min(ib, I - i0);
      const c0 = cap[i0]!;
      const c1 = cap[i0 + m]!;
      for (const [from, to] of [[0, c0], [c1, Q]] as const) {
        if (to === from) continue;
        const tile = yield { a: rows(i0, m), m, b: cols(from, to), n: to - from, k: D, out };
        this.#counter.count(tile, i0, m, from, to - from);
      }
    }
  }

  finish(kernel: string): StreamedRetrieval {
    const I = this.#I;
    const { captionPolicy, ties, ks } = this.#opts;
    const pess = ties === "pessimistic";
    const c = this.#counter;
    const Q = this.#texts.length;
    const t2i = new Int32Array(Q);
    // Optimistic: the true item never beats itself. Pessimistic: `>=` counted the true item (T→I) or the own
    // captions equal to the best one (I→T); 1 + the others.
    for (let q = 0; q < Q; q++) t2i[this.#selPos[q]!] = pess ? c.aboveT[q]! : 1 + c.aboveT[q]!;
    const i2t = new Int32Array(I);
    for (let i = 0; i < I; i++) {
      if (this.#capStart[i + 1] === this.#capStart[i]) continue; // no gallery caption: not a query
      i2t[i] = 1 + c.aboveI[i]! - (pess ? c.ownAtBest[i]! : 0);
    }
    const result: StreamedRetrieval = {
      captionPolicy,
      ties,
      textToImage: summarizeRanks(t2i, I, ks),
      imageToText: summarizeRanks(i2t, Q, ks),
      perQuery: { texts: this.#texts, textToImageRanks: t2i, imageToTextRanks: i2t },
      kernel,
    };
    const top = this.#top;
    if (top !== undefined) {
      const k = top.k;
      const textToImage = new Int32Array(Q * k);
      for (let q = 0; q < Q; q++) textToImage.set(top.tIdx.subarray(q * k, (q + 1) * k), this.#selPos[q]! * k);
      result.top = { k, textToImage, imageToText: top.iIdx };
    }
    return result;
  }
}

function checked(tile: Float32Array, t: Tile, kernel: SimilarityKernel): Float32Array {
  if (tile.length < t.m * t.n) throw new SiglipError("INTERNAL", `kernel ${kernel.name} returned ${tile.length} values for a ${t.m} x ${t.n} tile`);
  return tile;
}

/**
 * Retrieval both ways from embeddings, streaming similarity tiles from the kernel (async kernels welcome).
 * Same ranks and summaries as `retrieval(cosineSimilarityMatrix(images, texts), owner, opts)`.
 * @param images [I, D] float32, @param texts [T, D] float32, @param owner [T] image index of each text
 */
export async function streamRetrieval(images: Tensor<"float32">, texts: Tensor<"float32">, owner: ArrayLike<number>, opts: StreamRetrievalOptions = {}): Promise<StreamedRetrieval> {
  const kernel = opts.kernel ?? jsKernel;
  const run = new StreamedRun(images, texts, owner, opts);
  const plan = run.tiles();
  for (let step = plan.next(); !step.done; ) {
    const t = step.value;
    step = plan.next(checked(await kernel.multiplyTransposed(t.a, t.m, t.b, t.n, t.k, t.out), t, kernel));
  }
  return run.finish(kernel.name);
}

/** {@link streamRetrieval} with a synchronous kernel (default {@link jsKernel}). */
export function streamRetrievalSync(
  images: Tensor<"float32">,
  texts: Tensor<"float32">,
  owner: ArrayLike<number>,
  opts: StreamRetrievalOptions & { kernel?: SyncSimilarityKernel } = {},
): StreamedRetrieval {
  const kernel = opts.kernel ?? jsKernel;
  const run = new StreamedRun(images, texts, owner, opts);
  const plan = run.tiles();
  for (let step = plan.next(); !step.done; ) {
    const t = step.value;
    step = plan.next(checked(kernel.multiplyTransposed(t.a, t.m, t.b, t.n, t.k, t.out), t, kernel));
  }
  return run.finish(kernel.name);
}
