/**
 * GIF decoder (pure TS): the first frame only, composed as Pillow's GifImagePlugin does for frame 0 — the canvas is
 * the logical screen (grown if the frame extends past it), filled with the transparency index when the frame has one
 * and index 0 otherwise, then the frame's LZW data is drawn into its rectangle (interlaced or not). RGB comes from
 * the local palette, else the global one; without any palette the index is a grey level (mode L).
 * @module
 */
import type { DecodeLimits, RgbImage } from "../image.ts";
import { ByteReader, checkDimensions, corrupt } from "./bytes.ts";
import { paletteLookup } from "./png.ts";

const F = "GIF";

export function isGif(b: Uint8Array): boolean {
  return b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38 && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61;
}

/** Concatenates data sub-blocks up to the zero-length terminator; `truncated` when the file ended first. */
function readSubBlocks(r: ByteReader, requireTerminator: boolean): { data: Uint8Array; truncated: boolean } {
  let truncated = false;
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (r.remaining === 0) {
      if (requireTerminator) corrupt(F, "file is truncated inside a data block");
      truncated = true;
      break;
    }
    const n = r.u8();
    if (n === 0) break;
    if (r.remaining < n) {
      if (requireTerminator) corrupt(F, "file is truncated inside a data block");
      total += r.remaining;
      parts.push(r.take(r.remaining));
      truncated = true;
      break;
    }
    parts.push(r.take(n));
    total += n;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { data: out, truncated };
}

/**
 * GIF LZW; writes at most `count` indexes through `emit`. Returns true when the frame is complete (all pixels, or
 * the end code: Pillow leaves the rest at the fill value), false when the data ran out first; fails on a code that
 * cannot exist yet.
 */
function lzw(data: Uint8Array, minCodeSize: number, count: number, emit: (i: number, v: number) => void): boolean {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const stack = new Uint8Array(4097);
  let codeSize = minCodeSize + 1;
  let next = eoi + 1;
  let prev = -1;
  let first = 0;
  let bits = 0;
  let buf = 0;
  let p = 0;
  let written = 0;
  while (written < count) {
    while (bits < codeSize) {
      if (p >= data.length) return false;
      buf |= (data[p++] as number) << bits;
      bits += 8;
    }
    const code = buf & ((1 << codeSize) - 1);
    buf >>>= codeSize;
    bits -= codeSize;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) return true;
    let sp = 0;
    let c = code;
    if (prev === -1) {
      if (code >= clear) corrupt(F, `LZW code ${code} before any string`);
      first = code;
      emit(written++, code);
      prev = code;
      continue;
    }
    if (code > next || (code === next && next >= 4096)) corrupt(F, `invalid LZW code ${code}`);
    if (code === next) {
      stack[sp++] = first;
      c = prev;
    }
    while (c >= clear) {
      stack[sp++] = suffix[c] as number;
      c = prefix[c] as number;
      if (sp > 4096) corrupt(F, "LZW string loop");
    }
    first = c;
    stack[sp++] = c;
    while (sp > 0 && written < count) emit(written++, stack[--sp] as number);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = first;
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
    prev = code;
  }
  return true;
}

export function decodeGif(bytes: Uint8Array, limits: DecodeLimits): RgbImage {
  const r = new ByteReader(bytes, F, 6);
  let W = r.u16le();
  let H = r.u16le();
  const flags = r.u8();
  r.skip(2); // background index, aspect ratio
  let globalPalette: Uint8Array | undefined;
  if (flags & 0x80) globalPalette = r.take(3 << ((flags & 7) + 1));
  let transparency: number | undefined;
  for (;;) {
    const s = r.remaining > 0 ? r.u8() : 0x3b;
    if (s === 0x3b) corrupt(F, "no image in file");
    if (s === 0x21) {
      const label = r.u8();
      const block = readSubBlocks(r, true).data;
      if (label === 0xf9 && block.length >= 4 && ((block[0] as number) & 1) === 1) transparency = block[3];
      continue;
    }
    if (s !== 0x2c) corrupt(F, `unexpected block 0x${s.toString(16)}`);
    const x0 = r.u16le();
    const y0 = r.u16le();
    const fw = r.u16le();
    const fh = r.u16le();
    const fflags = r.u8();
    W = Math.max(W, x0 + fw);
    H = Math.max(H, y0 + fh);
    checkDimensions(F, W, H, limits);
    const palette = fflags & 0x80 ? r.take(3 << ((fflags & 7) + 1)) : globalPalette;
    const interlaced = (fflags & 0x40) !== 0;
    const minCodeSize = r.u8();
    if (minCodeSize < 1 || minCodeSize > 11) corrupt(F, `invalid LZW code size ${minCodeSize}`);
    const { data, truncated } = readSubBlocks(r, false);
    const index = new Uint8Array(W * H).fill(transparency ?? 0);
    // Interlaced rows arrive in 4 passes: every 8th from 0, every 8th from 4, every 4th from 2, every 2nd from 1.
    const rowOf = (i: number): number => {
      if (!interlaced) return i;
      const p1 = Math.ceil(fh / 8);
      const p2 = Math.ceil((fh - 4) / 8);
      const p3 = Math.ceil((fh - 2) / 4);
      if (i < p1) return i * 8;
      if (i < p1 + p2) return (i - p1) * 8 + 4;
      if (i < p1 + p2 + p3) return (i - p1 - p2) * 4 + 2;
      return (i - p1 - p2 - p3) * 2 + 1;
    };
    if (fw > 0 && fh > 0) {
      let rowStart = -1;
      let rowIdx = -1;
      const complete = lzw(data, minCodeSize, fw * fh, (i, v) => {
        const ry = Math.floor(i / fw);
        if (ry !== rowIdx) {
          rowIdx = ry;
          rowStart = (y0 + rowOf(ry)) * W + x0;
        }
        index[rowStart + (i - ry * fw)] = v;
      });
      // Pillow raises "image file is truncated" when the file ends before the frame's data does.
      if (!complete && truncated) corrupt(F, "file is truncated inside the image data");
    }
    const out = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      const v = index[i] as number;
      if (palette === undefined) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v;
      else paletteLookup(palette, 3, v, out, 3 * i);
    }
    return { width: W, height: H, channels: 3, data: out };
  }
}
