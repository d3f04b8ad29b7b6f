/**
 * BMP decoder (pure TS) following Pillow's BmpImagePlugin: headers of 12, 40, 52, 56, 64, 108 and 124 bytes;
 * 1/4/8-bit palettes (BGRX, or BGR for OS/2 core headers), RLE8 and RLE4 (Pillow's BmpRleDecoder rules), 16-bit
 * 5-5-5 and 5-6-5, 24-bit BGR, 32-bit BGRX and the bitfield layouts Pillow accepts; bottom-up and top-down rows.
 * Alpha channels are dropped (`convert("RGB")`).
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { DecodeLimits, RgbImage } from "../image.ts";
import { ByteReader, checkDimensions, corrupt } from "./bytes.ts";
import { paletteLookup } from "./png.ts";

const F = "BMP";

export function isBmp(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d;
}

function unsupported(why: string): never {
  throw new SiglipError("IMAGE_UNSUPPORTED_FORMAT", `BMP: ${why}`, { details: { format: F } });
}

/** Byte offsets of R, G, B inside a 32-bit pixel for each mask layout Pillow supports (BmpImagePlugin MASK_MODES). */
const MASKS_32: ReadonlyMap<string, readonly [number, number, number]> = new Map([
  ["ff0000,ff00,ff,0", [2, 1, 0]], // BGRX
  ["ff000000,ff0000,ff00,0", [3, 2, 1]], // XBGR
  ["ff000000,ff00,ff,0", [3, 1, 0]], // BGXR
  ["ff000000,ff0000,ff00,ff", [3, 2, 1]], // ABGR
  ["ff,ff00,ff0000,ff000000", [0, 1, 2]], // RGBA
  ["ff0000,ff00,ff,ff000000", [2, 1, 0]], // BGRA
  ["ff000000,ff00,ff,ff0000", [3, 1, 0]], // BGAR
  ["0,0,0,0", [2, 1, 0]], // BGRA
]);

export function decodeBmp(bytes: Uint8Array, limits: DecodeLimits): RgbImage {
  const r = new ByteReader(bytes, F, 10);
  let offset = r.u32le();
  const headerStart = r.pos;
  const headerSize = r.u32le();
  let width: number;
  let height: number;
  let bits: number;
  let compression = 0;
  let colors = 0;
  let topDown = false;
  let paletteStride = 4;
  let masks: number[] | undefined;
  if (headerSize === 12) {
    width = r.u16le();
    height = r.u16le();
    r.skip(2);
    bits = r.u16le();
    paletteStride = 3;
  } else if ([40, 52, 56, 64, 108, 124].includes(headerSize)) {
    const h = new ByteReader(r.take(headerSize - 4), F);
    width = h.i32le();
    const rawHeight = h.u32le();
    topDown = (rawHeight >>> 24) === 0xff;
    height = topDown ? 2 ** 32 - rawHeight : rawHeight;
    h.skip(2);
    bits = h.u16le();
    compression = h.u32le();
    h.skip(12);
    colors = h.u32le();
    if (compression === 3) {
      if (headerSize - 4 >= 48) {
        h.pos = 36;
        masks = [h.u32le(), h.u32le(), h.u32le(), headerSize - 4 >= 52 ? h.u32le() : 0];
      } else {
        masks = [r.u32le(), r.u32le(), r.u32le(), 0];
      }
    }
  } else {
    return unsupported(`unsupported header size ${headerSize}`);
  }
  checkDimensions(F, width, height, limits);
  if (colors === 0) colors = 2 ** bits;
  if (offset === 14 + headerSize && bits <= 8) offset += paletteStride * colors;
  if (![1, 4, 8, 16, 24, 32].includes(bits)) unsupported(`unsupported pixel depth ${bits}`);
  let order: readonly [number, number, number] = [2, 1, 0];
  let packed16: "555" | "565" = "555";
  if (compression === 3) {
    const m = masks as number[];
    const key32 = m.map((v) => (v >>> 0).toString(16)).join(",");
    const key = m.slice(0, 3).map((v) => (v >>> 0).toString(16)).join(",");
    if (bits === 32 && MASKS_32.has(key32)) order = MASKS_32.get(key32) as readonly [number, number, number];
    else if (bits === 24 && key === "ff0000,ff00,ff") order = [2, 1, 0];
    else if (bits === 16 && key === "f800,7e0,1f") packed16 = "565";
    else if (bits === 16 && key === "7c00,3e0,1f") packed16 = "555";
    else unsupported("unsupported bitfields layout");
  } else if (compression !== 0 && compression !== 1 && compression !== 2) {
    unsupported(`unsupported compression ${compression}`);
  }
  let palette: Uint8Array = new Uint8Array(0);
  if (bits <= 8) {
    if (!(colors > 0 && colors <= 65536)) corrupt(F, `invalid palette size ${colors}`);
    const pr = new ByteReader(bytes, F, headerStart + headerSize);
    const n = Math.min(paletteStride * colors, pr.remaining);
    const raw = pr.take(n);
    palette = new Uint8Array(Math.floor(n / paletteStride) * 3);
    for (let i = 0; i * paletteStride + 2 < n; i++) {
      palette[3 * i] = raw[i * paletteStride + 2] as number; // stored B, G, R
      palette[3 * i + 1] = raw[i * paletteStride + 1] as number;
      palette[3 * i + 2] = raw[i * paletteStride] as number;
    }
  }
  const out = new Uint8Array(width * height * 3);
  const rowOut = (y: number): number => (topDown ? y : height - 1 - y) * width * 3; // file row y -> image row
  if (compression === 1 || compression === 2) {
    if (bits !== (compression === 1 ? 8 : 4)) corrupt(F, `RLE${compression === 1 ? 8 : 4} with ${bits}-bit pixels`);
    const idx = rle(bytes, offset, width, height, compression === 2);
    for (let y = 0; y < height; y++) {
      const o = rowOut(y);
      for (let x = 0; x < width; x++) paletteLookup(palette, 3, idx[y * width + x] as number, out, o + 3 * x);
    }
    return { width, height, channels: 3, data: out };
  }
  const stride = ((width * bits + 31) >>> 3) & ~3;
  const data = new ByteReader(bytes, F, offset);
  data.need(stride * height);
  const b = bytes;
  for (let y = 0; y < height; y++) {
    const s = offset + y * stride;
    const o = rowOut(y);
    for (let x = 0; x < width; x++) {
      const d = o + 3 * x;
      if (bits <= 8) {
        const perByte = 8 / bits;
        const byte = b[s + Math.floor(x / perByte)] as number;
        const v = (byte >> (8 - bits * ((x % perByte) + 1))) & ((1 << bits) - 1);
        paletteLookup(palette, 3, v, out, d);
      } else if (bits === 16) {
        const px = (b[s + 2 * x] as number) | ((b[s + 2 * x + 1] as number) << 8);
        // Pillow's BGR;15 / BGR;16 unpackers scale with integer division (Unpack.c).
        out[d + 2] = Math.floor(((px & 31) * 255) / 31);
        if (packed16 === "565") {
          out[d + 1] = Math.floor((((px >> 5) & 63) * 255) / 63);
          out[d] = Math.floor((((px >> 11) & 31) * 255) / 31);
        } else {
          out[d + 1] = Math.floor((((px >> 5) & 31) * 255) / 31);
          out[d] = Math.floor((((px >> 10) & 31) * 255) / 31);
        }
      } else {
        const bpp = bits >> 3;
        out[d] = b[s + bpp * x + order[0]] as number;
        out[d + 1] = b[s + bpp * x + order[1]] as number;
        out[d + 2] = b[s + bpp * x + order[2]] as number;
      }
    }
  }
  return { width, height, channels: 3, data: out };
}

/** Pillow's BmpRleDecoder: returns [height, width] palette indexes in file row order (missing pixels are 0). */
function rle(bytes: Uint8Array, offset: number, width: number, height: number, rle4: boolean): Uint8Array {
  const n = width * height;
  const data = new Uint8Array(n);
  let len = 0;
  let x = 0;
  let p = offset;
  const push = (v: number): void => {
    if (len < n) data[len] = v;
    len++;
  };
  while (len < n) {
    if (p + 2 > bytes.length) break;
    let count = bytes[p++] as number;
    const byte = bytes[p++] as number;
    if (count) {
      if (x + count > width) count = Math.max(0, width - x);
      for (let i = 0; i < count; i++) push(rle4 ? (i % 2 === 0 ? byte >> 4 : byte & 15) : byte);
      x += count;
    } else if (byte === 0) {
      while (len % width !== 0) push(0);
      x = 0;
    } else if (byte === 1) {
      break;
    } else if (byte === 2) {
      if (p + 2 > bytes.length) break;
      const right = bytes[p++] as number;
      const up = bytes[p++] as number;
      const skip = right + up * width;
      for (let i = 0; i < skip && len < n; i++) push(0);
      len = Math.max(len, Math.min(n, len));
      x = len % width;
    } else {
      const byteCount = rle4 ? byte >> 1 : byte;
      const avail = Math.min(byteCount, bytes.length - p);
      for (let i = 0; i < avail; i++) {
        const v = bytes[p + i] as number;
        if (rle4) {
          push(v >> 4);
          push(v & 15);
        } else push(v);
      }
      p += avail;
      if (avail < byteCount) break;
      x += byte;
      if ((p - 0) % 2 !== 0) p++; // word alignment is relative to the file start, as Pillow's fd.tell()
    }
  }
  return data;
}
