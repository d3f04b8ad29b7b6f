/**
 * EXIF orientation, read the way Pillow's `Image.getexif()` reads it for `ImageOps.exif_transpose`: tag 0x0112 of
 * IFD0 in the TIFF-structured EXIF payload, else `tiff:Orientation` in XMP. Corrupt metadata is ignored
 * (orientation 1): metadata never makes a decodable image fail.
 * @module
 */
import type { RgbImage } from "../image.ts";

/** Orientation (1-8) from an EXIF payload, with or without the `Exif\0\0` prefix; `undefined` when absent. */
export function exifOrientation(exif: Uint8Array | undefined): number | undefined {
  if (exif === undefined) return undefined;
  let t = exif;
  if (t.length >= 6 && t[0] === 0x45 && t[1] === 0x78 && t[2] === 0x69 && t[3] === 0x66 && t[4] === 0 && t[5] === 0) t = t.subarray(6);
  if (t.length < 8) return undefined;
  const le = t[0] === 0x49 && t[1] === 0x49;
  const be = t[0] === 0x4d && t[1] === 0x4d;
  if (!le && !be) return undefined;
  const u16 = (o: number): number => (o + 2 > t.length ? -1 : le ? (t[o] as number) | ((t[o + 1] as number) << 8) : ((t[o] as number) << 8) | (t[o + 1] as number));
  const u32 = (o: number): number =>
    o + 4 > t.length
      ? -1
      : le
        ? ((t[o] as number) | ((t[o + 1] as number) << 8) | ((t[o + 2] as number) << 16) | ((t[o + 3] as number) << 24)) >>> 0
        : (((t[o] as number) << 24) | ((t[o + 1] as number) << 16) | ((t[o + 2] as number) << 8) | (t[o + 3] as number)) >>> 0;
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  const n = u16(ifd);
  if (n < 0) return undefined;
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > t.length) return undefined;
    if (u16(e) !== 0x0112) continue;
    const type = u16(e + 2);
    const count = u32(e + 4);
    if (count !== 1) return undefined;
    if (type === 3) return u16(e + 8);
    if (type === 4) return u32(e + 8);
    return undefined;
  }
  return undefined;
}

/** `tiff:Orientation` from an XMP packet (Pillow's regex `tiff:Orientation(="|>)([0-9])`). */
export function xmpOrientation(xmp: Uint8Array | undefined): number | undefined {
  if (xmp === undefined) return undefined;
  let s = "";
  for (let i = 0; i < xmp.length; i++) s += String.fromCharCode(xmp[i] as number);
  const m = /tiff:Orientation(="|>)([0-9])/.exec(s);
  return m === null ? undefined : Number(m[2]);
}

/**
 * Applies an EXIF orientation like `ImageOps.exif_transpose` (2 mirror, 3 rotate 180, 4 flip, 5 transpose,
 * 6 rotate 270 = 90 clockwise, 7 transverse, 8 rotate 90); other values leave the image as it is.
 * @param img [H, W, C] uint8
 * @returns [H', W', C] uint8 (W and H swap for 5-8)
 */
export function applyOrientation(img: RgbImage, orientation: number | undefined): RgbImage {
  if (orientation === undefined || orientation < 2 || orientation > 8) return img;
  const { width: W, height: H, channels: C, data } = img;
  const swap = orientation >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: sx = W - 1 - x; sy = y; break;
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;
        case 4: sx = x; sy = H - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = H - 1 - x; break;
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;
        default: sx = W - 1 - y; sy = x; break; // 8
      }
      const s = (sy * W + sx) * C;
      const d = (y * w + x) * C;
      for (let c = 0; c < C; c++) out[d + c] = data[s + c] as number;
    }
  }
  return { width: w, height: h, channels: C, data: out };
}
