/**
 * JPEG for `decodeImage`: the header first (size limits before any allocation, EXIF/XMP for orientation), then the
 * pixels from MozJPEG 3.3.1 in WASM (a libjpeg-turbo 1.5 fork: same ISLOW IDCT, fancy upsampling and YCbCr tables as
 * the libjpeg-turbo 3.1 inside Pillow 12.3; the goldens prove equality file by file) or from the pure-TS row decoder
 * (`jpeg-ts.ts`: on request, and always for CMYK / YCCK, which the WASM build cannot output). As in Pillow, a
 * truncated file is an error, other libjpeg warnings are not.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { DecodeLimits, RgbImage } from "../image.ts";
import { checkDimensions, corrupt } from "./bytes.ts";
import { readJpegHeader, TsJpegFallback, type JpegHeader } from "./jpeg-markers.ts";
import { decodeJpegRows } from "./jpeg-ts.ts";
import { runCodec } from "./wasm-codecs.ts";

/**
 * Which JPEG decoder runs: `"wasm"` MozJPEG; `"ts"` the pure-TS row decoder (`jpeg-ts.ts`; files it does not
 * reproduce exactly still go to WASM); `"auto"` (default) the TS decoder in the streaming pipeline for images of at
 * least `TS_JPEG_AUTO_MIN_PIXELS`, WASM otherwise. All give the same pixels (tested on every JPEG fixture).
 */
export type JpegDecoderChoice = "auto" | "wasm" | "ts";

const F = "JPEG";

export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

export async function decodeJpeg(bytes: Uint8Array, limits: DecodeLimits, choice: JpegDecoderChoice = "auto"): Promise<{ image: RgbImage; header: JpegHeader }> {
  const header = readJpegHeader(bytes);
  checkDimensions(F, header.width, header.height, limits);
  if (header.components !== 1 && header.components !== 3 && header.components !== 4) {
    throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", `JPEG: ${header.components} colour components`, { details: { format: F } });
  }
  // The WASM build only outputs RGBA, which libjpeg cannot produce from CMYK/YCCK: those always take the TS decoder.
  if (choice === "ts" || header.components === 4) {
    const image = decodeJpegFullTs(bytes, header.width, header.height);
    if (image !== undefined) return { image, header };
  }
  const { pixels, messages } = await runCodec("jpeg", bytes);
  if (pixels === null) corrupt(F, messages.join("; ") || "decoder returned no image");
  // libjpeg pads a truncated stream with a fake EOI and warns; Pillow raises "image file is truncated" instead.
  const eof = messages.find((m) => m.includes("Premature end of JPEG file"));
  if (eof !== undefined) corrupt(F, `file is truncated (${eof.trim()})`);
  if (pixels.width !== header.width || pixels.height !== header.height) corrupt(F, "decoded size differs from the header");
  return { image: rgbaView(pixels), header };
}

/** The codec's RGBA buffer as a 4-channel raster, without copying (the fourth channel is ignored downstream). */
export function rgbaView(p: { width: number; height: number; data: Uint8ClampedArray }): RgbImage {
  return { width: p.width, height: p.height, channels: 4, data: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength) };
}

/** Drops the fourth channel: [H, W, 4] -> [H, W, 3] uint8. */
export function rgbaToRgb(p: { width: number; height: number; data: Uint8Array | Uint8ClampedArray }): RgbImage {
  const n = p.width * p.height;
  const out = new Uint8Array(n * 3);
  const s = p.data;
  for (let i = 0, j = 0; i < n * 4; i += 4) {
    out[j++] = s[i] as number;
    out[j++] = s[i + 1] as number;
    out[j++] = s[i + 2] as number;
  }
  return { width: p.width, height: p.height, channels: 3, data: out };
}

/**
 * The whole image through the pure-TS decoder; `undefined` when the file needs the WASM decoder (`TsJpegFallback`).
 * @returns [H, W, 3] uint8
 */
export function decodeJpegFullTs(bytes: Uint8Array, width: number, height: number): RgbImage | undefined {
  const data = new Uint8Array(width * height * 3);
  let rows = 0;
  try {
    decodeJpegRows(bytes, {
      row(y, rgb) {
        if (y >= height) corrupt(F, "more rows than the header declares");
        data.set(rgb.subarray(0, width * 3), y * width * 3);
        rows++;
      },
    });
  } catch (err) {
    if (err instanceof TsJpegFallback) return undefined;
    throw err;
  }
  if (rows !== height) corrupt(F, "decoded size differs from the header");
  return { width, height, channels: 3, data };
}
