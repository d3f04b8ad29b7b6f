/**
 * Planted retrieval data: image and caption embeddings whose T→I and I→T ranks are fixed by construction, exact in
 * float32 under any summation order, so a kernel or a pipeline can be checked for exact recall at any size
 * (XM3600 shape: 3,600 images, 2 captions each, D = 768).
 *
 * Construction. Images sit on a G1 x G2 grid, image i at (g, h) = (i div G2, i mod G2). Coordinates (before one
 * seeded permutation shared by all rows): u_0..u_{G1-1}, v_0..v_{G2-1}, two image-only coordinates z, and 15
 * caption-only padding coordinates p.
 * - image (g, h) = u_g + v_h + z_0 + z_1 (norm 2, unit entries 1/2);
 * - caption of image (g, h) = u_g + v_h + sum_j c_j v_{h_j} + padding, with distractor columns h_j drawn from a
 *   per-row set of "hub" columns, c_j = 1.5 ("beats" the true image) or 1 ("ties" with it), and padding values
 *   from {8, 4, 2, 1, 0.5} bringing the squared norm to exactly 256 (norm 16).
 * Then `S[(x, y), t] = (a_x + b_y) / 32` with a, b the caption's u and v weights: the true image scores 2/32, image
 * (g, h_j) scores (1 + c_j)/32 (2.5 beats, 2 ties), everything else at most 1.5/32. A caption's T→I rank is
 * 1 + its beating distractors (+ its tying ones when pessimistic). For I→T, image (g, h) is beaten exactly by the
 * captions of the other images in row g that chose column h as a beating distractor (tied by those that chose it
 * as a tying one). Every similarity is a sum of at most two exact dyadic products, so every kernel gets it exactly.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { createRng, shuffleInPlace, type Rng } from "../prng.ts";
import { selectCaptions, type CaptionPolicy, type TiePolicy } from "../retrieval.ts";

/** Compressed sparse rows: row r holds `values[indptr[r]..indptr[r+1])` at columns `indices[...]`. */
export interface SparseRows {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

export interface PlantOptions {
  images: number;
  /** Captions per image (XM3600: about 2). Caption t belongs to image t mod images. */
  captionsPerImage: number;
  dim: number;
  seed: number;
  /**
   * Seed of the coordinate permutation, the only thing the image embeddings depend on (besides images and dim):
   * plants with the same layoutSeed share their images, like the languages of one dataset. Default `seed`.
   */
  layoutSeed?: number;
  /** Share of captions whose true image is ranked first (T→I), default 0.5. */
  top1?: number;
  /** Hub columns per grid row: the images that can beat a caption's true image, default 12 (max T→I rank 12). */
  hubs?: number;
  /** Share of distractors that tie with the true image instead of beating it, default 0 (no ties). */
  tieShare?: number;
}

export interface PlantedRetrieval {
  /** [images, dim] */
  images: SparseRows;
  /** [images * captionsPerImage, dim] */
  texts: SparseRows;
  /** [texts] image of each caption */
  owner: Int32Array;
  /** Per caption: the images planted above its true image ("beats") and level with it ("ties"). */
  beats: Int32Array[];
  ties: Int32Array[];
}

const PAD = [8, 4, 2, 1, 0.5] as const; // squares 64, 16, 4, 1, 0.25; up to 3 of each reach any multiple of 1/4 <= 255.75
const NORM2 = 256;

/** Plants a retrieval problem; the same options always give the same data. */
export function plantRetrieval(opts: PlantOptions): PlantedRetrieval {
  const { images: I, captionsPerImage: C, dim: D, seed } = opts;
  const top1 = opts.top1 ?? 0.5;
  const tieShare = opts.tieShare ?? 0;
  if (!Number.isInteger(I) || I < 2 || !Number.isInteger(C) || C < 1) throw new SiglipError("INVALID_ARGUMENT", `need >= 2 images and >= 1 caption each, got ${I} and ${C}`);
  const G2 = Math.ceil(Math.sqrt(I));
  const G1 = Math.ceil(I / G2);
  const hubs = Math.min(opts.hubs ?? 12, G2 - 1);
  const need = G1 + G2 + 2 + 3 * PAD.length;
  if (D < need) throw new SiglipError("INVALID_ARGUMENT", `planting ${I} images needs dim >= ${need}, got ${D}`);
  if (2.25 * hubs > NORM2 - 2) throw new SiglipError("INVALID_ARGUMENT", `too many hubs (${hubs}) for the caption norm`);
  const perm = shuffleInPlace(Int32Array.from({ length: D }, (_, k) => k), createRng(opts.layoutSeed ?? seed)); // layout -> column
  const rng = createRng(seed ^ 0x5eed);
  const u = (g: number) => perm[g]!;
  const v = (h: number) => perm[G1 + h]!;
  const z = (j: number) => perm[G1 + G2 + j]!;
  const pad = (slot: number) => perm[G1 + G2 + 2 + slot]!;
  const width = (g: number) => Math.min(G2, I - g * G2); // images in grid row g
  const rowHubs = Array.from({ length: G1 }, (_, g) => shuffleInPlace(Int32Array.from({ length: width(g) }, (_, h) => h), rng).slice(0, Math.min(hubs + 1, width(g))));

  const imageRows = Array.from({ length: I }, (_, i) => [
    [u(Math.floor(i / G2)), 1],
    [v(i % G2), 1],
    [z(0), 1],
    [z(1), 1],
  ] as [number, number][]);

  const T = I * C;
  const owner = Int32Array.from({ length: T }, (_, t) => t % I);
  const beats: Int32Array[] = [];
  const ties: Int32Array[] = [];
  const textRows: [number, number][][] = [];
  for (let t = 0; t < T; t++) {
    const o = owner[t]!;
    const g = Math.floor(o / G2);
    const h = o % G2;
    const pool = rowHubs[g]!.filter((x) => x !== h).slice(0, hubs);
    const n = rng.next() < top1 ? 0 : Math.min(pool.length, 1 + geometric(rng, 0.7, pool.length));
    const chosen = shuffleInPlace(Int32Array.from(pool), rng).slice(0, n);
    const b: number[] = [];
    const e: number[] = [];
    for (const x of chosen) (tieShare > 0 && rng.next() < tieShare ? e : b).push(g * G2 + x);
    beats.push(Int32Array.from(b).sort());
    ties.push(Int32Array.from(e).sort());
    const row: [number, number][] = [
      [u(g), 1],
      [v(h), 1],
    ];
    for (const img of b) row.push([v(img % G2), 1.5]);
    for (const img of e) row.push([v(img % G2), 1]);
    let rest = NORM2 - row.reduce((s, [, x]) => s + x * x, 0);
    let slot = 0;
    for (const p of PAD) {
      for (let r = 0; r < 3; r++, slot++) {
        if (rest >= p * p) {
          row.push([pad(slot), p]);
          rest -= p * p;
        }
      }
    }
    if (rest !== 0) throw new SiglipError("INTERNAL", `caption ${t}: padding left ${rest}`);
    textRows.push(row);
  }
  return { images: toSparse(imageRows, D), texts: toSparse(textRows, D), owner, beats, ties };
}

/** 0, 1, 2, ... with P(n) proportional to p^n, below `cap`. */
function geometric(rng: Rng, p: number, cap: number): number {
  let n = 0;
  while (n + 1 < cap && rng.next() < p) n++;
  return n;
}

function toSparse(rows: [number, number][][], cols: number): SparseRows {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (indptr[i + 1] = indptr[i]! + r.length));
  const nnz = indptr[rows.length]!;
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  rows.forEach((r, i) => r.forEach(([c, x], j) => ((indices[indptr[i]! + j] = c), (values[indptr[i]! + j] = x))));
  return { rows: rows.length, cols, indptr, indices, values };
}

/** The dense row-major [rows, cols] float32 matrix. */
export function densify(s: SparseRows): Float32Array {
  const out = new Float32Array(s.rows * s.cols);
  for (let r = 0; r < s.rows; r++) {
    for (let p = s.indptr[r]!; p < s.indptr[r + 1]!; p++) out[r * s.cols + s.indices[p]!] = s.values[p]!;
  }
  return out;
}

/** Ranks the plant implies, in the layout `retrieval()` returns them. */
export function plantedRanks(p: PlantedRetrieval, captionPolicy: CaptionPolicy = "all", tiePolicy: TiePolicy = "optimistic") {
  const I = p.images.rows;
  const pess = tiePolicy === "pessimistic";
  const texts = selectCaptions(p.owner, I, captionPolicy);
  const textToImageRanks = Int32Array.from(texts, (t) => 1 + p.beats[t]!.length + (pess ? p.ties[t]!.length : 0));
  const imageToTextRanks = new Int32Array(I);
  for (const t of texts) imageToTextRanks[p.owner[t]!] = 1; // images with a gallery caption are queries
  for (const t of texts) {
    for (const i of p.beats[t]!) if (imageToTextRanks[i]! > 0) imageToTextRanks[i]!++;
    if (pess) for (const i of p.ties[t]!) if (imageToTextRanks[i]! > 0) imageToTextRanks[i]!++;
  }
  return { texts, textToImageRanks, imageToTextRanks };
}
