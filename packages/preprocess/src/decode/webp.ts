/**
 * WebP: RIFF chunks are parsed here (size limits, EXIF/XMP, animation), pixels come from libwebp in WASM
 * (`WebPDecodeRGBA`, default options: fancy upsampling, no dithering, as Pillow's WebPAnimDecoder uses for a still
 * image). Alpha is dropped. Animated WebP is not supported (Pillow would return the first frame).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { DecodeLimits, RgbImage } from "../image.ts";
import { ByteReader, checkDimensions, corrupt } from "./bytes.ts";
import { rgbaView } from "./jpeg.ts";
import { runCodec } from "./wasm-codecs.ts";

const F = "WebP";

export function isWebp(b: Uint8Array): boolean {
  return b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50;
}

export interface WebpHeader {
  width: number;
  height: number;
  animated: boolean;
  exif: Uint8Array | undefined;
  xmp: Uint8Array | undefined;
}

export function readWebpHeader(bytes: Uint8Array): WebpHeader {
  const r = new ByteReader(bytes, F, 12);
  let size: [number, number] | undefined;
  let animated = false;
  let exif: Uint8Array | undefined;
  let xmp: Uint8Array | undefined;
  while (r.remaining >= 8) {
    const tag = String.fromCharCode(...r.take(4));
    const len = r.u32le();
    const data = r.take(Math.min(len, r.remaining));
    if (len % 2 === 1 && r.remaining > 0) r.skip(1);
    if (tag === "VP8X" && data.length >= 10) {
      animated = ((data[0] as number) & 0x02) !== 0;
      const w = 1 + ((data[4] as number) | ((data[5] as number) << 8) | ((data[6] as number) << 16));
      const h = 1 + ((data[7] as number) | ((data[8] as number) << 8) | ((data[9] as number) << 16));
      size = [w, h];
    } else if (tag === "VP8 " && size === undefined && data.length >= 10) {
      size = [((data[6] as number) | ((data[7] as number) << 8)) & 0x3fff, ((data[8] as number) | ((data[9] as number) << 8)) & 0x3fff];
    } else if (tag === "VP8L" && size === undefined && data.length >= 5) {
      const b = (data[1] as number) | ((data[2] as number) << 8) | ((data[3] as number) << 16) | ((data[4] as number) << 24);
      size = [1 + (b & 0x3fff), 1 + ((b >>> 14) & 0x3fff)];
    } else if (tag === "EXIF") exif = data;
    else if (tag === "XMP ") xmp = data;
    else if (tag === "ANIM" || tag === "ANMF") animated = true;
  }
  if (size === undefined) corrupt(F, "no VP8/VP8L/VP8X chunk");
  return { width: size[0], height: size[1], animated, exif, xmp };
}

export async function decodeWebp(bytes: Uint8Array, limits: DecodeLimits): Promise<{ image: RgbImage; header: WebpHeader }> {
  const header = readWebpHeader(bytes);
  checkDimensions(F, header.width, header.height, limits);
  if (header.animated) throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", "WebP: animated WebP is not supported", { details: { format: F } });
  const { pixels } = await runCodec("webp", bytes);
  if (pixels === null) corrupt(F, "libwebp could not decode the file (corrupt or truncated)");
  if (pixels.width !== header.width || pixels.height !== header.height) corrupt(F, "decoded size differs from the header");
  return { image: rgbaView(pixels), header };
}
