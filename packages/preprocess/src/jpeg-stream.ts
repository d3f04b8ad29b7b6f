/**
 * The low-memory JPEG route of the pipeline: header and limits as `decodeRaster` checks them, then the pure-TS
 * decoder's rows go straight into `StreamResize`, so neither the decoded nor the oriented image ever exists. A
 * baseline 24 MP photo then holds about one MCU row of coefficients and samples plus the horizontally resized rows;
 * a progressive one also its int16 coefficients (libjpeg keeps the same). Equal, bit for bit, to decode + resize.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { checkDimensions, corrupt } from "./decode/bytes.ts";
import { orientationOf, type DecodeOptions } from "./decode/index.ts";
import { isJpeg } from "./decode/jpeg.ts";
import { readJpegHeader, TsJpegFallback } from "./decode/jpeg-markers.ts";
import { decodeJpegRows } from "./decode/jpeg-ts.ts";
import { DEFAULT_LIMITS, type DecodeLimits, type RgbImage } from "./image.ts";
import type { ResampleFilter } from "./resize.ts";
import { StreamResize } from "./stream-resize.ts";

/** `"auto"` streams JPEGs from this many pixels on (below it the WASM decoder is faster and memory is no issue). */
export const TS_JPEG_AUTO_MIN_PIXELS = 2_000_000;

/**
 * Decodes a JPEG and resizes it (after EXIF orientation) without holding the image, or returns `undefined` when this
 * route does not apply (not a JPEG, `jpegDecoder: "wasm"`, `"auto"` below the threshold, or a file only the WASM
 * decoder reproduces; CMYK / YCCK stream like YCbCr); the caller then takes the full-image route, which raises the same errors.
 * @param target oriented (height, width) -> [outW, outH]; may throw for invalid options
 * @returns [outH, outW, 3] uint8
 */
export function resizedJpeg(bytes: Uint8Array, opts: DecodeOptions, target: (height: number, width: number) => [number, number], filter: ResampleFilter): RgbImage | undefined {
  const choice = opts.jpegDecoder ?? "auto";
  const limits: DecodeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (choice === "wasm" || !isJpeg(bytes) || bytes.length > limits.maxEncodedBytes) return undefined;
  try {
    const header = readJpegHeader(bytes);
    // Baseline files with all components in the first scan stream whatever their size (maxStreamedJpegPixels);
    // the rest keep their coefficients and stay under maxPixels (checked again by the decoder at that scan).
    const streams = !header.progressive && header.firstScanComponents === header.components;
    const cap = streams ? Math.max(limits.maxPixels, limits.maxStreamedJpegPixels ?? limits.maxPixels) : limits.maxPixels;
    checkDimensions("JPEG", header.width, header.height, { ...limits, maxPixels: cap });
    if (header.components !== 1 && header.components !== 3 && header.components !== 4) return undefined;
    const pixels = header.width * header.height;
    // Small files go to WASM (faster) unless only the streamed cap lets them in.
    if (choice === "auto" && pixels < TS_JPEG_AUTO_MIN_PIXELS && pixels <= limits.maxPixels) return undefined;
    const o = orientationOf(header.exif, header.xmp);
    const swap = o >= 5 && o <= 8;
    const [outW, outH] = swap ? target(header.width, header.height) : target(header.height, header.width);
    const rs = new StreamResize(header.width, header.height, o, outW, outH, filter);
    decodeJpegRows(bytes, rs, limits.maxPixels);
    if (rs.rows !== header.height) corrupt("JPEG", "decoded size differs from the header");
    return rs.finish();
  } catch (err) {
    if (err instanceof TsJpegFallback) return undefined;
    if (err instanceof SiglipError) throw err;
    throw new SiglipError("IMAGE_DECODE_FAILED", `JPEG: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details: { format: "JPEG" } });
  }
}
