/**
 * FixRes preprocessing (`SiglipImageProcessor`, siglip2-spec §7.1): stretch to S x S ignoring aspect ratio, then the
 * pixel table, in CHW layout.
 * @module
 */
import { SiglipError, tensor, type Tensor } from "@siglip-edge/core";
import { toRgb3, type RgbImage } from "./image.ts";
import { PIXEL_LUT } from "./normalize.ts";
import { resizeImage, type ResampleFilter } from "./resize.ts";

export interface FixResOptions {
  /** Square side S (224, 256, 384, 512 for the released checkpoints). */
  size: number;
  /** SigLIP 2 checkpoints use bilinear; SigLIP 1 used bicubic. */
  resample?: ResampleFilter;
}

/** The validated square side. */
export function fixresSize(opts: FixResOptions): number {
  const S = opts.size;
  if (!Number.isInteger(S) || S < 1 || S > 4096) throw new SiglipError("INVALID_ARGUMENT", `FixRes size must be an integer in [1, 4096], got ${S}`);
  return S;
}

/**
 * One RGB image to FixRes pixel values.
 * @param img [H, W, 3] uint8 (or [H, W, 4] RGBX; the fourth channel is ignored)
 * @param out where to write them (a reused buffer or a slice of a batch); default a new array
 * @returns [3, S, S] float32 (channel-first, values in [-1, 1])
 */
export function fixresPixels(img: RgbImage, opts: FixResOptions, out?: Float32Array): Float32Array {
  const S = fixresSize(opts);
  checkChannels(img);
  if (out !== undefined && out.length !== 3 * S * S) throw new SiglipError("INVALID_ARGUMENT", `output buffer holds ${out.length} values, [3, ${S}, ${S}] needs ${3 * S * S}`);
  return pixelTable(img.width === S && img.height === S ? img : resizeImage(img, S, S, opts.resample ?? "bilinear"), out);
}

/**
 * The resize step of FixRes alone: the S x S uint8 image whose pixel table is the model input. Sent instead of floats
 * where bytes matter (a quarter of the size; `fixresPixels` on it gives the same floats, bit for bit).
 * @returns [S, S, 3] uint8
 */
export function fixresResize(img: RgbImage, opts: FixResOptions): RgbImage {
  const S = fixresSize(opts);
  checkChannels(img);
  return toRgb3(img.width === S && img.height === S ? img : resizeImage(img, S, S, opts.resample ?? "bilinear"));
}

/**
 * The uint8 samples behind `fixresPixels`, in its channel-first order: `PIXEL_LUT[samples[i]]` is `fixresPixels(img)[i]`
 * bit for bit. What a backend with the pixel table in its graph takes (KServe `<name>-vision-u8`).
 * @param img [S, S, 3 or 4] uint8, already resized (`fixresResize`)
 * @param out where to write them (a slice of a batch); default a new array
 * @returns [3, S, S] uint8
 */
export function fixresSamples(img: RgbImage, out?: Uint8Array): Uint8Array {
  checkChannels(img);
  const plane = img.width * img.height;
  const dst = out ?? new Uint8Array(3 * plane);
  if (dst.length !== 3 * plane) throw new SiglipError("INVALID_ARGUMENT", `output buffer holds ${dst.length} values, [3, ${img.height}, ${img.width}] needs ${3 * plane}`);
  const src = img.data;
  const C = img.channels;
  for (let i = 0, s = 0; i < plane; i++, s += C) {
    dst[i] = src[s]!;
    dst[plane + i] = src[s + 1]!;
    dst[2 * plane + i] = src[s + 2]!;
  }
  return dst;
}

function checkChannels(img: RgbImage): void {
  if (img.channels !== 3 && img.channels !== 4) throw new SiglipError("INVALID_ARGUMENT", `expected RGB or RGBX pixels, got ${img.channels} channels`);
}

/** The pixel table in CHW layout: [H, W, C] uint8 -> [3, H, W] float32. */
function pixelTable(r: RgbImage, into?: Float32Array): Float32Array {
  const plane = r.width * r.height;
  const out = into ?? new Float32Array(3 * plane); // [3, S, S]
  const src = r.data;
  const C = r.channels;
  for (let i = 0, s = 0; i < plane; i++, s += C) {
    out[i] = PIXEL_LUT[src[s]!]!;
    out[plane + i] = PIXEL_LUT[src[s + 1]!]!;
    out[2 * plane + i] = PIXEL_LUT[src[s + 2]!]!;
  }
  return out;
}

/**
 * A batch of RGB images to `pixel_values`.
 * @returns pixel_values [B, 3, S, S] float32
 */
export function fixresBatch(images: readonly RgbImage[], opts: FixResOptions): Tensor<"float32"> {
  const S = opts.size;
  const out = new Float32Array(images.length * 3 * S * S);
  images.forEach((img, b) => out.set(fixresPixels(img, opts), b * 3 * S * S));
  return tensor("float32", [images.length, 3, S, S], out);
}
