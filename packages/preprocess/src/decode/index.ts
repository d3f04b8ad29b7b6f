/**
 * `decodeImage`: bytes -> RGB exactly as HF's `load_image` sees them (Pillow open, `exif_transpose`,
 * `convert("RGB")`). Format by signature, never by file name.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { DEFAULT_LIMITS, type DecodeLimits, type RgbImage } from "../image.ts";
import { decodeBmp, isBmp } from "./bmp.ts";
import { applyOrientation, exifOrientation, xmpOrientation } from "./exif.ts";
import { decodeGif, isGif } from "./gif.ts";
import { decodeJpeg, isJpeg, rgbaToRgb, type JpegDecoderChoice } from "./jpeg.ts";
import { decodePng, isPng } from "./png.ts";
import { decodeWebp, isWebp } from "./webp.ts";

export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "bmp";

/** Detects the format from the first bytes; `undefined` for anything else. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (isJpeg(bytes)) return "jpeg";
  if (isPng(bytes)) return "png";
  if (isWebp(bytes)) return "webp";
  if (isGif(bytes)) return "gif";
  if (isBmp(bytes)) return "bmp";
  return undefined;
}

export interface DecodeOptions {
  limits?: Partial<DecodeLimits>;
  /** JPEG decoder (see `JpegDecoderChoice`); the default `"auto"` needs no change for exact output. */
  jpegDecoder?: JpegDecoderChoice;
}

export interface DecodedImage extends RgbImage {
  format: ImageFormat;
  /** EXIF orientation that was applied (1 when none). */
  orientation: number;
}

/** EXIF orientation, else XMP `tiff:Orientation`, else 1 (values outside 1-8 are returned as they are). */
export function orientationOf(exif: Uint8Array | undefined, xmp: Uint8Array | undefined): number {
  return exifOrientation(exif) ?? xmpOrientation(xmp) ?? 1;
}

/**
 * Decodes an encoded image to RGB with EXIF orientation applied.
 * @returns [H, W, 3] uint8
 * @throws SiglipError IMAGE_TOO_LARGE (checked from the header), IMAGE_DECODE_FAILED (corrupt or truncated),
 *   IMAGE_UNSUPPORTED_FORMAT (unknown signature or unsupported variant), BACKEND_UNAVAILABLE (JPEG/WebP without
 *   `initDecoders`)
 */
export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  return toRgb(await decodeRaster(bytes, opts));
}

/** Drops the padding channel of an RGBX raster from `decodeRaster` (RGB rasters are returned as they are). */
export function toRgb(r: DecodedImage): DecodedImage {
  return r.channels === 3 ? r : { ...rgbaToRgb(r), format: r.format, orientation: r.orientation };
}

/**
 * Like `decodeImage`, but JPEG and WebP stay in the codec's RGBX layout (4 channels, the fourth ignored) to save a
 * full-size copy: the pipeline reads the first three channels. Same pixels, same errors.
 * @returns [H, W, 3 or 4] uint8
 * @throws SiglipError IMAGE_TOO_LARGE (checked from the header), IMAGE_DECODE_FAILED (corrupt or truncated),
 *   IMAGE_UNSUPPORTED_FORMAT (unknown signature or unsupported variant), BACKEND_UNAVAILABLE (JPEG/WebP without
 *   `initDecoders`)
 */
export async function decodeRaster(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const limits: DecodeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (bytes.length > limits.maxEncodedBytes) {
    throw new SiglipError("IMAGE_TOO_LARGE", `encoded image is ${bytes.length} bytes, limit ${limits.maxEncodedBytes}`, {
      details: { bytes: bytes.length, maxEncodedBytes: limits.maxEncodedBytes },
    });
  }
  const format = sniffFormat(bytes);
  if (format === undefined) {
    throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", bytes.length === 0 ? "empty input" : "not a JPEG, PNG, WebP, GIF or BMP file", {
      details: { signature: Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("") },
    });
  }
  let img: RgbImage;
  let orientation = 1;
  try {
    switch (format) {
      case "png": {
        const r = decodePng(bytes, limits);
        img = r.image;
        orientation = orientationOf(r.exif, undefined);
        break;
      }
      case "jpeg": {
        const r = await decodeJpeg(bytes, limits, opts.jpegDecoder);
        img = r.image;
        orientation = orientationOf(r.header.exif, r.header.xmp);
        break;
      }
      case "webp": {
        const r = await decodeWebp(bytes, limits);
        img = r.image;
        orientation = orientationOf(r.header.exif, r.header.xmp);
        break;
      }
      case "gif":
        img = decodeGif(bytes, limits);
        break;
      case "bmp":
        img = decodeBmp(bytes, limits);
        break;
    }
  } catch (err) {
    if (err instanceof SiglipError) throw err;
    // A RangeError from an allocation or any other slip in a decoder still surfaces as a typed error.
    throw new SiglipError("IMAGE_DECODE_FAILED", `${format.toUpperCase()}: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details: { format } });
  }
  const oriented = applyOrientation(img, orientation);
  return { ...oriented, format, orientation: orientation >= 2 && orientation <= 8 ? orientation : 1 };
}
