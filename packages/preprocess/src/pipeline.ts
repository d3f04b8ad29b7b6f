/**
 * File bytes to model inputs in one call, as an HF pipeline would produce them (load_image + processor).
 * @module
 */
import { tensor, type Tensor } from "@siglip-edge/core";
import { decodeRaster, type DecodeOptions } from "./decode/index.ts";
import { fixresPixels, fixresSize, type FixResOptions } from "./fixres.ts";
import { resizedJpeg } from "./jpeg-stream.ts";
import { naflexBatch, naflexBatchOf, naflexParams, naflexPatchify, naflexTargetSize, type NaFlexBatch, type NaFlexOptions } from "./naflex.ts";

/**
 * Encoded image to FixRes `pixel_values`.
 * @returns [1, 3, S, S] float32
 */
export async function preprocessFixRes(bytes: Uint8Array, opts: FixResOptions & DecodeOptions): Promise<Tensor<"float32">> {
  const S = fixresSize(opts);
  // Large JPEGs: decode rows straight into the resize (see jpeg-stream.ts); the result is already S x S.
  const small = resizedJpeg(bytes, opts, () => [S, S], opts.resample ?? "bilinear");
  const img = small ?? (await decodeRaster(bytes, opts));
  return tensor("float32", [1, 3, opts.size, opts.size], fixresPixels(img, opts));
}

/**
 * Encoded image to NaFlex inputs: pixel_values [1, N, P*P*3] float32, pixel_attention_mask [1, N] int32,
 * spatial_shapes [1, 2] int64.
 */
export async function preprocessNaFlex(bytes: Uint8Array, opts: NaFlexOptions & DecodeOptions = {}): Promise<NaFlexBatch> {
  const { P, N } = naflexParams(opts);
  const small = resizedJpeg(bytes, opts, (h, w) => {
    const [th, tw] = naflexTargetSize(h, w, P, N);
    return [tw, th];
  }, opts.resample ?? "bilinear");
  if (small !== undefined) return naflexBatchOf([naflexPatchify(small, N, P)], opts);
  const img = await decodeRaster(bytes, opts);
  return naflexBatch([img], opts);
}
