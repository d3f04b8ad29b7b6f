/**
 * JPEG: the header is parsed here (size limits before any allocation, EXIF/XMP for orientation), pixels come from
 * MozJPEG 3.3.1 in WASM (a libjpeg-turbo 1.5 fork: same ISLOW IDCT, fancy upsampling and YCbCr tables as the
 * libjpeg-turbo 3.1 inside Pillow 12.3; the goldens prove equality file by file). As in Pillow, a truncated file is
 * an error, other libjpeg warnings are not.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { DecodeLimits, RgbImage } from "../image.ts";
import { ByteReader, checkDimensions, corrupt } from "./bytes.ts";
import { decodeCmykJpeg } from "./jpeg-cmyk.ts";
import { decodeJpegRows, TsJpegFallback } from "./jpeg-ts.ts";
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

export interface JpegHeader {
  width: number;
  height: number;
  components: number;
  progressive: boolean;
  /** Components in the first scan (all of them: a baseline file the TS decoder can stream). */
  firstScanComponents: number;
  exif: Uint8Array | undefined;
  xmp: Uint8Array | undefined;
}

const XMP_ID = "http://ns.adobe.com/xap/1.0/\0";

function startsWith(data: Uint8Array, s: string): boolean {
  if (data.length < s.length) return false;
  for (let i = 0; i < s.length; i++) if (data[i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Walks the markers up to the first SOS. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  const r = new ByteReader(bytes, F, 2);
  let sof: Omit<JpegHeader, "exif" | "xmp" | "firstScanComponents"> | undefined;
  let exif: Uint8Array | undefined;
  let xmp: Uint8Array | undefined;
  for (;;) {
    let b = r.u8();
    if (b !== 0xff) corrupt(F, `expected a marker, found 0x${b.toString(16)}`);
    do b = r.u8();
    while (b === 0xff);
    const marker = b;
    if (marker === 0xd9) corrupt(F, "no image data before EOI");
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // standalone markers
    const len = r.u16be();
    if (len < 2) corrupt(F, `segment 0x${marker.toString(16)} has length ${len}`);
    const data = r.take(len - 2);
    if (marker === 0xe1 && exif === undefined && startsWith(data, "Exif\0\0")) exif = data;
    else if (marker === 0xe1 && xmp === undefined && startsWith(data, XMP_ID)) xmp = data.subarray(XMP_ID.length);
    else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (data.length < 6) corrupt(F, "SOF segment too short");
      if (marker === 0xc3 || marker === 0xc7 || marker === 0xcb || marker === 0xcf) {
        throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", "JPEG: lossless JPEG is not supported", { details: { format: F } });
      }
      const height = ((data[1] as number) << 8) | (data[2] as number);
      const width = ((data[3] as number) << 8) | (data[4] as number);
      sof = { width, height, components: data[5] as number, progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce };
    } else if (marker === 0xda) {
      if (sof === undefined) corrupt(F, "scan before frame header");
      return { ...sof, firstScanComponents: data[0] ?? 0, exif, xmp };
    }
  }
}

export async function decodeJpeg(bytes: Uint8Array, limits: DecodeLimits, choice: JpegDecoderChoice = "auto"): Promise<{ image: RgbImage; header: JpegHeader }> {
  const header = readJpegHeader(bytes);
  checkDimensions(F, header.width, header.height, limits);
  // The WASM build only outputs RGBA, which libjpeg cannot produce from CMYK/YCCK: those take the pure-TS path.
  if (header.components === 4) return { image: decodeCmykJpeg(bytes), header };
  if (header.components !== 1 && header.components !== 3) {
    throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", `JPEG: ${header.components} colour components`, { details: { format: F } });
  }
  if (choice === "ts") {
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
