/**
 * PNG decoder (pure TS, inflate by fflate): every colour type and bit depth, Adam7 interlacing, converted to RGB the
 * way Pillow's PNG plugin plus `convert("RGB")` does (PngImagePlugin `_MODES`, Convert.c):
 * - grey 1 bit -> 0/255; 2/4 bit scaled (x85 / x17); 16 bit is mode `I;16`, and `I;16 -> RGB` clips at 255;
 * - RGB/RGBA/LA 16 bit keep the high byte (rawmodes `RGB;16B` etc.); alpha is dropped, not composited;
 * - palette indexes look up PLTE; tRNS is ignored by the conversion.
 * @module
 */
import { unzlibSync } from "fflate";
import type { DecodeLimits, RgbImage } from "../image.ts";
import { ByteReader, checkDimensions, corrupt } from "./bytes.ts";

const F = "PNG";

export interface PngResult {
  image: RgbImage;
  /** Raw eXIf payload (TIFF header onwards), if present. */
  exif: Uint8Array | undefined;
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colourType: number;
  interlace: number;
}

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const VALID_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Undoes the per-scanline filters of one (sub)image in place; returns the raw rows [h, rowBytes]. */
function unfilter(src: Uint8Array, offset: number, w: number, h: number, bpp: number, bitsPerPixel: number): { rows: Uint8Array; used: number } {
  const rowBytes = Math.ceil((w * bitsPerPixel) / 8);
  const rows = new Uint8Array(h * rowBytes);
  let p = offset;
  for (let y = 0; y < h; y++) {
    if (p + 1 + rowBytes > src.length) corrupt(F, "image data is truncated");
    const ft = src[p++] as number;
    const o = y * rowBytes;
    const prev = o - rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const x = src[p + i] as number;
      const a = i >= bpp ? (rows[o + i - bpp] as number) : 0;
      const b = y > 0 ? (rows[prev + i] as number) : 0;
      const c = y > 0 && i >= bpp ? (rows[prev + i - bpp] as number) : 0;
      let v: number;
      switch (ft) {
        case 0: v = x; break;
        case 1: v = x + a; break;
        case 2: v = x + b; break;
        case 3: v = x + ((a + b) >> 1); break;
        case 4: v = x + paeth(a, b, c); break;
        default: return corrupt(F, `unknown filter type ${ft}`);
      }
      rows[o + i] = v & 0xff;
    }
    p += rowBytes;
  }
  return { rows, used: p - offset };
}

/** Writes the RGB value of sample `(x, y)` of unfiltered rows into `out` at pixel index `dst`. */
function makeConverter(h: Header, palette: Uint8Array): (rows: Uint8Array, rowBytes: number, x: number, y: number, out: Uint8Array, dst: number) => void {
  const { depth, colourType } = h;
  if (colourType === 0 || colourType === 3) {
    const lookup = (v: number, out: Uint8Array, d: number): void => {
      if (colourType === 3) {
        paletteLookup(palette, 3, v, out, d);
      } else {
        out[d] = out[d + 1] = out[d + 2] = v;
      }
    };
    if (depth === 16) {
      // Mode I;16; I;16 -> RGB clips at 255 (Convert.c I16_RGB).
      return (rows, rb, x, y, out, d) => {
        const v = ((rows[y * rb + 2 * x] as number) << 8) | (rows[y * rb + 2 * x + 1] as number);
        out[d] = out[d + 1] = out[d + 2] = v > 255 ? 255 : v;
      };
    }
    if (depth === 8) return (rows, rb, x, y, out, d) => lookup(rows[y * rb + x] as number, out, d);
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    const scale = colourType === 0 ? 255 / mask : 1; // grey 1/2/4 bit expands to 0..255; indexes stay raw
    return (rows, rb, x, y, out, d) => {
      const byte = rows[y * rb + Math.floor(x / perByte)] as number;
      const shift = 8 - depth * ((x % perByte) + 1);
      lookup(((byte >> shift) & mask) * scale, out, d);
    };
  }
  const ch = CHANNELS[colourType] as number;
  const bytesPer = depth === 16 ? 2 : 1; // 16-bit: the high byte (big-endian first byte)
  if (colourType === 4) {
    return (rows, rb, x, y, out, d) => {
      const v = rows[y * rb + x * ch * bytesPer] as number;
      out[d] = out[d + 1] = out[d + 2] = v;
    };
  }
  return (rows, rb, x, y, out, d) => {
    const s = y * rb + x * ch * bytesPer;
    out[d] = rows[s] as number;
    out[d + 1] = rows[s + bytesPer] as number;
    out[d + 2] = rows[s + 2 * bytesPer] as number;
  };
}

/** RGB of palette entry `i` (entry size `stride`, RGB order); indexes past the palette are black, as in Pillow. */
export function paletteLookup(palette: Uint8Array, stride: number, i: number, out: Uint8Array, d: number): void {
  const o = i * stride;
  if (o + 2 < palette.length) {
    out[d] = palette[o] as number;
    out[d + 1] = palette[o + 1] as number;
    out[d + 2] = palette[o + 2] as number;
  } else {
    out[d] = out[d + 1] = out[d + 2] = 0;
  }
}

const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a;
}

export function decodePng(bytes: Uint8Array, limits: DecodeLimits): PngResult {
  const r = new ByteReader(bytes, F, 8);
  let header: Header | undefined;
  let palette: Uint8Array = new Uint8Array(0);
  let exif: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let ended = false;
  while (r.remaining > 0) {
    const len = r.u32be();
    const type = String.fromCharCode(...r.take(4));
    if (len > 0x7fffffff) corrupt(F, `chunk ${type} has an invalid length`);
    const data = r.take(len);
    r.skip(4); // CRC, not verified (Pillow does not verify it for image data either)
    if (type === "IHDR") {
      if (len < 13) corrupt(F, "IHDR too short");
      const hr = new ByteReader(data, F);
      header = { width: hr.u32be(), height: hr.u32be(), depth: hr.u8(), colourType: hr.u8(), interlace: (hr.skip(2), hr.u8()) };
      const depths = VALID_DEPTHS[header.colourType];
      if (depths === undefined || !depths.includes(header.depth)) corrupt(F, `invalid colour type ${header.colourType} / bit depth ${header.depth}`);
      if (header.interlace > 1) corrupt(F, `unknown interlace method ${header.interlace}`);
      checkDimensions(F, header.width, header.height, limits);
    } else if (header === undefined) {
      corrupt(F, "first chunk is not IHDR");
    } else if (type === "PLTE") {
      palette = data;
    } else if (type === "IDAT") {
      idat.push(data);
      idatBytes += data.length;
    } else if (type === "eXIf") {
      exif = data;
    } else if (type === "IEND") {
      ended = true;
      break;
    }
  }
  if (header === undefined) corrupt(F, "missing IHDR");
  if (idat.length === 0) corrupt(F, "no image data (IDAT)");
  if (header.colourType === 3 && palette.length === 0) corrupt(F, "palette image without PLTE");
  void ended; // a missing IEND is tolerated as long as all image data is present (Pillow does the same)
  const { width: W, height: H, depth, colourType } = header;
  const ch = CHANNELS[colourType] as number;
  const bitsPerPixel = ch * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  // Expected inflated size, to decompress into a fixed buffer (no growth beyond what the header allows).
  const passes = header.interlace === 1 ? ADAM7 : [[0, 0, 1, 1] as const];
  let expected = 0;
  const dims: [number, number][] = passes.map(([x0, y0, dx, dy]) => {
    const pw = Math.ceil((W - x0) / dx);
    const ph = Math.ceil((H - y0) / dy);
    const d: [number, number] = pw > 0 && ph > 0 ? [pw, ph] : [0, 0];
    if (d[0] > 0) expected += d[1] * (1 + Math.ceil((d[0] * bitsPerPixel) / 8));
    return d;
  });
  const z = new Uint8Array(idatBytes);
  let off = 0;
  for (const part of idat) {
    z.set(part, off);
    off += part.length;
  }
  const inflated = new Uint8Array(expected);
  let got: Uint8Array<ArrayBufferLike>;
  try {
    got = unzlibSync(z, { out: inflated });
  } catch (err) {
    return corrupt(F, `zlib stream is corrupt or truncated (${err instanceof Error ? err.message : String(err)})`, err);
  }
  if (got.length < expected) corrupt(F, `image data is truncated (${got.length} of ${expected} bytes)`);
  const out = new Uint8Array(W * H * 3);
  const convert = makeConverter(header, palette);
  let p = 0;
  passes.forEach(([x0, y0, dx, dy], i) => {
    const [pw, ph] = dims[i] as [number, number];
    if (pw === 0) return;
    const { rows, used } = unfilter(inflated, p, pw, ph, bpp, bitsPerPixel);
    p += used;
    const rb = Math.ceil((pw * bitsPerPixel) / 8);
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) convert(rows, rb, x, y, out, ((y0 + y * dy) * W + (x0 + x * dx)) * 3);
    }
  });
  return { image: { width: W, height: H, channels: 3, data: out }, exif };
}
