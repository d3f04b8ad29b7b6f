/**
 * File bytes to model inputs in one call, as an HF pipeline would produce them (load_image + processor).
 * @module
 */
import { tensor, type Tensor } from "@siglip-edge/core";
import { decodeRaster, type DecodeOptions } from "./decode/index.ts";
import { fixresPixels, type FixResOptions } from "./fixres.ts";
import { naflexBatch, type NaFlexBatch, type NaFlexOptions } from "./naflex.ts";

/**
 * Encoded image to FixRes `pixel_values`.
 * @returns [1, 3, S, S] float32
 */
export async function preprocessFixRes(bytes: Uint8Array, opts: FixResOptions & DecodeOptions): Promise<Tensor<"float32">> {
  const img = await decodeRaster(bytes, opts);
  return tensor("float32", [1, 3, opts.size, opts.size], fixresPixels(img, opts));
}

/**
 * Encoded image to NaFlex inputs: pixel_values [1, N, P*P*3] float32, pixel_attention_mask [1, N] int32,
 * spatial_shapes [1, 2] int64.
 */
export async function preprocessNaFlex(bytes: Uint8Array, opts: NaFlexOptions & DecodeOptions = {}): Promise<NaFlexBatch> {
  const img = await decodeRaster(bytes, opts);
  return naflexBatch([img], opts);
}
