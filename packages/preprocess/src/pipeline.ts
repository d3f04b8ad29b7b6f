/**
 * File bytes to model inputs in one call, as an HF pipeline would produce them (load_image + processor).
 * @module
 */
import { tensor, type Tensor } from "@siglip-edge/core";
import { decodeRaster, type DecodeOptions } from "./decode/index.ts";
import { fixresPixels, fixresResize, fixresSize, type FixResOptions } from "./fixres.ts";
import { toRgb3, type RgbImage } from "./image.ts";
import { resizedJpeg } from "./jpeg-stream.ts";
import { naflexBatchOf, naflexParams, naflexPatchify, naflexResize, naflexTargetSize, type NaFlexBatch, type NaFlexImage, type NaFlexOptions } from "./naflex.ts";

/**
 * Encoded image to FixRes `pixel_values`.
 * @returns [1, 3, S, S] float32
 */
export async function preprocessFixRes(bytes: Uint8Array, opts: FixResOptions & DecodeOptions): Promise<Tensor<"float32">> {
  return tensor("float32", [1, 3, opts.size, opts.size], fixresPixels(await decodeForFixRes(bytes, opts), opts));
}

/**
 * Encoded image to the S x S uint8 image behind FixRes `pixel_values` (decode + resize, no pixel table): what the API
 * Worker sends a vision Worker, a quarter of the float bytes. `fixresPixels` on it equals `preprocessFixRes`.
 * @returns [S, S, 3] uint8
 */
export async function preprocessFixResRgb(bytes: Uint8Array, opts: FixResOptions & DecodeOptions): Promise<RgbImage> {
  return fixresResize(await decodeForFixRes(bytes, opts), opts);
}

/** Decoded pixels for FixRes: large JPEGs decode rows straight into the resize (jpeg-stream.ts), already S x S. */
async function decodeForFixRes(bytes: Uint8Array, opts: FixResOptions & DecodeOptions): Promise<RgbImage> {
  const S = fixresSize(opts);
  return resizedJpeg(bytes, opts, () => [S, S], opts.resample ?? "bilinear") ?? (await decodeRaster(bytes, opts));
}

/**
 * Encoded image to NaFlex inputs: pixel_values [1, N, P*P*3] float32, pixel_attention_mask [1, N] int32,
 * spatial_shapes [1, 2] int64.
 */
export async function preprocessNaFlex(bytes: Uint8Array, opts: NaFlexOptions & DecodeOptions = {}): Promise<NaFlexBatch> {
  return naflexBatchOf([await preprocessNaFlexImage(bytes, opts)], opts);
}

/** Encoded image to one image's NaFlex tensors (`naflexBatchOf` stacks several into model inputs). */
export async function preprocessNaFlexImage(bytes: Uint8Array, opts: NaFlexOptions & DecodeOptions = {}): Promise<NaFlexImage> {
  const { P, N } = naflexParams(opts);
  return naflexPatchify(await preprocessNaFlexRgb(bytes, opts), N, P);
}

/**
 * Encoded image to the uint8 image behind its NaFlex patches (decode + resize to the NaFlex grid, no pixel table):
 * what the API Worker sends a vision Worker. `naflexPatchify` on it equals `preprocessNaFlexImage`.
 * @returns [h, w, 3] uint8, h and w multiples of the patch size
 */
export async function preprocessNaFlexRgb(bytes: Uint8Array, opts: NaFlexOptions & DecodeOptions = {}): Promise<RgbImage> {
  const { P, N } = naflexParams(opts);
  const small = resizedJpeg(bytes, opts, (h, w) => {
    const [th, tw] = naflexTargetSize(h, w, P, N);
    return [tw, th];
  }, opts.resample ?? "bilinear");
  if (small !== undefined) return toRgb3(small);
  return naflexResize(await decodeRaster(bytes, opts), opts);
}
