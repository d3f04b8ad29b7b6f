/**
 * Decoded pixels: 8-bit samples, channels interleaved, rows top to bottom. After `decodeImage` an image is always
 * RGB (3 channels), as Pillow's `convert("RGB")` leaves it.
 * @module
 */

/** An 8-bit raster, `data` is [height, width, channels] uint8. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** 3 (RGB) from `decodeImage`; 4 (RGBX, fourth ignored) inside the pipeline; the resizer accepts any count. */
  readonly channels: number;
  readonly data: Uint8Array;
}

/** Caps checked from the file header before any pixel buffer is allocated. */
export interface DecodeLimits {
  /** Largest accepted file, in bytes. */
  maxEncodedBytes: number;
  /** Largest accepted width * height (decompression-bomb guard). */
  maxPixels: number;
  /** Largest accepted width or height. */
  maxDimension: number;
  /**
   * Largest width * height for a JPEG that `preprocessFixRes` / `preprocessNaFlex` decode row by row (baseline with
   * interleaved YCbCr / grey scans: about one MCU row is held, whatever the size). Progressive files (which keep
   * their coefficients), files that fall back to WASM and every full-image route stay under `maxPixels`.
   * Defaults to `maxPixels`.
   */
  maxStreamedJpegPixels?: number;
}

/**
 * Defaults sized for a 128 MB Worker: 40 MP is a little above a 24 MP photo plus margin (RGBA decode buffers of
 * 160 MB would not fit; callers serving Workers may lower it). Pillow's own bomb limit is 178,956,970 pixels.
 */
export const DEFAULT_LIMITS: Readonly<DecodeLimits> = {
  maxEncodedBytes: 64 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxDimension: 65_535,
};

/**
 * Caps for a 128 MB Worker isolate, for every format and route. Measured (BENCHMARKS.md, preprocess): the full-image
 * routes cost up to about 11 bytes per pixel at peak (WASM JPEG: the codec heap holds the RGBX image, then a JS copy
 * is made), so 8 MP peaks near 90 MiB above the isolate's baseline. The streaming JPEG route of `preprocessFixRes` /
 * `preprocessNaFlex` needs far less (24 MP baseline: +5 MiB; progressive: 2 bytes per coded sample), so a Worker
 * that only takes JPEGs there may raise `maxPixels`; `maxStreamedJpegPixels` here lets baseline JPEGs up to 40 MP
 * through that route (progressive ones stay under the 8 MP `maxPixels`: 2 bytes per coded sample).
 */
export const WORKER_LIMITS: Readonly<DecodeLimits> = {
  maxEncodedBytes: 16 * 1024 * 1024,
  maxPixels: 8_000_000,
  maxDimension: 16_384,
  // Streamed baseline JPEGs: 24 MP measured at +6 MiB; 40 MP is the default cap of the other routes.
  maxStreamedJpegPixels: 40_000_000,
};

/** Drops a fourth (ignored) channel. */
export function toRgb3(r: RgbImage): RgbImage {
  if (r.channels === 3) return r;
  const plane = r.width * r.height;
  const rgb = new Uint8Array(plane * 3);
  for (let i = 0, s = 0, d = 0; i < plane; i++, s += r.channels, d += 3) {
    rgb[d] = r.data[s]!;
    rgb[d + 1] = r.data[s + 1]!;
    rgb[d + 2] = r.data[s + 2]!;
  }
  return { width: r.width, height: r.height, channels: 3, data: rgb };
}
