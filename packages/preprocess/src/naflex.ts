/**
 * NaFlex preprocessing (`Siglip2ImageProcessor`, siglip2-spec §7.2): resize to the patch grid found by HF's binary
 * search, apply the pixel table, cut 16x16 patches in (y, x, c) order and zero-pad to `maxNumPatches` rows.
 * @module
 */
import { SiglipError, tensor, type Tensor } from "@siglip-edge/core";
import { toRgb3, type RgbImage } from "./image.ts";
import { PIXEL_LUT } from "./normalize.ts";
import { resizeImage, type ResampleFilter } from "./resize.ts";

export interface NaFlexOptions {
  /** Patch budget N (256 by default; 576 and 1024 are common overrides). */
  maxNumPatches?: number;
  patchSize?: number;
  resample?: ResampleFilter;
}

/**
 * `get_image_size_for_max_num_patches` (eps 1e-5), float64 binary search exactly as HF writes it; not a closed form,
 * because the search does not always maximise the patch count (17x900 -> 32x1696).
 * @returns [targetHeight, targetWidth], multiples of `patchSize`
 */
export function naflexTargetSize(height: number, width: number, patchSize = 16, maxNumPatches = 256, eps = 1e-5): [number, number] {
  const scaled = (scale: number, size: number): number => Math.max(patchSize, Math.ceil((size * scale) / patchSize) * patchSize);
  let lo = eps / 10;
  let hi = 100.0;
  while (hi - lo >= eps) {
    const mid = (lo + hi) / 2;
    const n = (scaled(mid, height) / patchSize) * (scaled(mid, width) / patchSize);
    if (n <= maxNumPatches) lo = mid;
    else hi = mid;
  }
  return [scaled(lo, height), scaled(lo, width)];
}

/** One image's NaFlex tensors. */
export interface NaFlexImage {
  /** [N, P*P*3] float32, padded rows are zero */
  pixelValues: Float32Array;
  /** [N] int32, 1 for real patches */
  mask: Int32Array;
  /** Patch grid (nh, nw). */
  spatialShape: [number, number];
}

/**
 * One RGB image to NaFlex patches.
 * @param img [H, W, 3] uint8 (or [H, W, 4] RGBX; the fourth channel is ignored)
 */
export function naflexPatches(img: RgbImage, opts: NaFlexOptions = {}): NaFlexImage {
  const { P, N } = naflexParams(opts);
  if (img.channels !== 3 && img.channels !== 4) throw new SiglipError("INVALID_ARGUMENT", `expected RGB or RGBX pixels, got ${img.channels} channels`);
  const [h, w] = naflexTargetSize(img.height, img.width, P, N);
  return naflexPatchify(resizeImage(img, w, h, opts.resample ?? "bilinear"), N, P);
}

/**
 * The resize step of NaFlex alone: the image at its NaFlex size (both sides multiples of P, at most N patches), RGB.
 * What the edge API Worker sends a vision Worker; `naflexPatchify` on it equals `naflexPatches` on the original.
 * @returns [h, w, 3] uint8
 */
export function naflexResize(img: RgbImage, opts: NaFlexOptions = {}): RgbImage {
  const { P, N } = naflexParams(opts);
  if (img.channels !== 3 && img.channels !== 4) throw new SiglipError("INVALID_ARGUMENT", `expected RGB or RGBX pixels, got ${img.channels} channels`);
  const [h, w] = naflexTargetSize(img.height, img.width, P, N);
  return toRgb3(img.width === w && img.height === h ? img : resizeImage(img, w, h, opts.resample ?? "bilinear"));
}

/** Validated patch size P and budget N. */
export function naflexParams(opts: NaFlexOptions): { P: number; N: number } {
  const P = opts.patchSize ?? 16;
  const N = opts.maxNumPatches ?? 256;
  if (!Number.isInteger(N) || N < 1 || N > 65_536) throw new SiglipError("INVALID_ARGUMENT", `maxNumPatches must be an integer in [1, 65536], got ${N}`);
  if (!Number.isInteger(P) || P < 1 || P > 64) throw new SiglipError("INVALID_ARGUMENT", `patchSize must be an integer in [1, 64], got ${P}`);
  return { P, N };
}

/**
 * Patches of an image already resized to the NaFlex grid (both sides multiples of P).
 * @param r [h, w, 3 or 4] uint8
 */
export function naflexPatchify(r: RgbImage, N: number, P: number, into?: Float32Array): NaFlexImage {
  const h = r.height;
  const w = r.width;
  const nh = h / P;
  const nw = w / P;
  const D = P * P * 3;
  if (!Number.isInteger(nh) || !Number.isInteger(nw) || nh < 1 || nw < 1 || nh * nw > N) {
    throw new SiglipError("INVALID_ARGUMENT", `a NaFlex image must be resized to a grid of at most ${N} patches of ${P} px, got ${w}x${h}`);
  }
  if (into !== undefined && into.length !== N * D) throw new SiglipError("INVALID_ARGUMENT", `patch buffer holds ${into.length} values, [${N}, ${D}] needs ${N * D}`);
  const out = into ?? new Float32Array(N * D); // [N, P*P*3]
  if (into !== undefined) out.fill(0, nh * nw * D); // padded rows are zero (a reused buffer holds a previous image)
  const src = r.data;
  const C = r.channels;
  for (let py = 0; py < nh; py++) {
    for (let px = 0; px < nw; px++) {
      let o = (py * nw + px) * D;
      for (let y = 0; y < P; y++) {
        let s = ((py * P + y) * w + px * P) * C; // a patch row: P pixels, channel-last (y, x, c)
        if (C === 3) {
          for (let i = 0; i < P * 3; i++) out[o++] = PIXEL_LUT[src[s++]!]!;
        } else {
          for (let x = 0; x < P; x++, s += C) {
            out[o++] = PIXEL_LUT[src[s]!]!;
            out[o++] = PIXEL_LUT[src[s + 1]!]!;
            out[o++] = PIXEL_LUT[src[s + 2]!]!;
          }
        }
      }
    }
  }
  const mask = new Int32Array(N);
  mask.fill(1, 0, nh * nw);
  return { pixelValues: out, mask, spatialShape: [nh, nw] };
}

/** NaFlex model inputs for a batch. */
export interface NaFlexBatch {
  /** [B, N, P*P*3] float32 */
  pixelValues: Tensor<"float32">;
  /** [B, N] int32 */
  pixelAttentionMask: Tensor<"int32">;
  /** [B, 2] int64 */
  spatialShapes: Tensor<"int64">;
}

export function naflexBatch(images: readonly RgbImage[], opts: NaFlexOptions = {}): NaFlexBatch {
  return naflexBatchOf(images.map((img) => naflexPatches(img, opts)), opts);
}

/** Stacks per-image NaFlex tensors (all with the same N and P) into a batch. */
export function naflexBatchOf(ones: readonly NaFlexImage[], opts: NaFlexOptions = {}): NaFlexBatch {
  const P = opts.patchSize ?? 16;
  const N = opts.maxNumPatches ?? 256;
  const D = P * P * 3;
  const B = ones.length;
  const pv = new Float32Array(B * N * D);
  const mask = new Int32Array(B * N);
  const shapes = new BigInt64Array(B * 2);
  ones.forEach((one, b) => {
    pv.set(one.pixelValues, b * N * D);
    mask.set(one.mask, b * N);
    shapes[2 * b] = BigInt(one.spatialShape[0]);
    shapes[2 * b + 1] = BigInt(one.spatialShape[1]);
  });
  return {
    pixelValues: tensor("float32", [B, N, D], pv),
    pixelAttentionMask: tensor("int32", [B, N], mask),
    spatialShapes: tensor("int64", [B, 2], shapes),
  };
}
