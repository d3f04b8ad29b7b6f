/**
 * Pillow's separable two-pass fixed-point resampler (`libImaging/Resample.c`, siglip2-spec §7.3), uint8 in, uint8
 * out. Bilinear is what SigLIP 2 uses; bicubic is SigLIP 1's filter. Both are antialiased when downscaling: the
 * filter support widens by the scale factor. Ported line for line so results equal `Image.resize` bit for bit.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import type { RgbImage } from "./image.ts";

// Hot kernels below index typed arrays inside bounds proven by the coefficient tables: `!` is scoped to them.

export type ResampleFilter = "bilinear" | "bicubic";

/** 32 - 8 - 2: headroom for 8-bit samples times weights with negative lobes (Resample.c L93). */
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
/** The accumulator start value (rounding half), for kernels outside this file. */
export const RESAMPLE_HALF = HALF;

interface Filter {
  support: number;
  fn: (x: number) => number;
}

const FILTERS: Readonly<Record<ResampleFilter, Filter>> = {
  bilinear: {
    support: 1,
    fn: (x) => {
      const a = x < 0 ? -x : x;
      return a < 1 ? 1 - a : 0;
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      // Keys cubic with a = -0.5, as Pillow writes it (Resample.c L47-63).
      const a = -0.5;
      const t = x < 0 ? -x : x;
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

/** Fixed-point 1-D coefficients: for output i, `count[i]` taps starting at `start[i]`, weights at `i * ksize`. */
export interface ResampleCoeffs {
  ksize: number;
  start: Int32Array;
  count: Int32Array;
  /** [outSize * ksize] int32, weights scaled by 2^22 with sign-aware rounding. */
  weights: Int32Array;
}

/**
 * `precompute_coeffs` + `normalize_coeffs_8bpc` for the box [0, inSize] (Resample.c L183-284).
 * Float maths is float64 as in C; `trunc` mirrors C's `(int)` cast.
 */
export function resampleCoeffs(inSize: number, outSize: number, filter: ResampleFilter): ResampleCoeffs {
  const f = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = f.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      let w = k[x] as number;
      if (ww !== 0) w /= ww;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

/*
 * The kernels accumulate in int32 (`Math.imul`, `| 0`): |sum| < 255 * 1.25 * 2^22 < 2^31, as in C. Pillow's `clip8`
 * (>= 2^30 -> 255, <= 0 -> 0, else >> 22) equals `acc >> 22` stored into a Uint8ClampedArray, which clamps integers.
 */

/**
 * Horizontal pass over one row of 3 (RGB) channels into `out` at `o` (the streaming JPEG path).
 * @param src [W, 3] uint8 at `p0`
 * @param out receives [outW, 3] uint8 at `o`
 */
export function resizeRowRgb(src: Uint8Array, p0: number, out: Uint8Array, o: number, outW: number, c: ResampleCoeffs): void {
  const { ksize, start, count, weights } = c;
  for (let xx = 0; xx < outW; xx++) {
    const n = count[xx]!;
    const kOff = xx * ksize;
    let p = p0 + start[xx]! * 3;
    let a0 = HALF;
    let a1 = HALF;
    let a2 = HALF;
    for (let x = 0; x < n; x++, p += 3) {
      const w = weights[kOff + x]!;
      a0 = (a0 + Math.imul(src[p]!, w)) | 0;
      a1 = (a1 + Math.imul(src[p + 1]!, w)) | 0;
      a2 = (a2 + Math.imul(src[p + 2]!, w)) | 0;
    }
    out[o++] = clip8(a0);
    out[o++] = clip8(a1);
    out[o++] = clip8(a2);
  }
}

/** Pillow's `clip8` for an accumulator that started at HALF. */
export function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Horizontal pass over rows [y0, y0 + rows) of `src` (C channels interleaved).
 * @param src [H, W, C] uint8
 * @returns [rows, outW, C] uint8
 */
function horizontal(src: Uint8Array, W: number, C: number, y0: number, rows: number, outW: number, c: ResampleCoeffs): Uint8Array {
  const out = new Uint8ClampedArray(rows * outW * C);
  const { ksize, start, count, weights } = c;
  for (let y = 0; y < rows; y++) {
    const rowIn = (y0 + y) * W * C;
    let o = y * outW * C;
    for (let xx = 0; xx < outW; xx++) {
      const n = count[xx]!;
      const kOff = xx * ksize;
      let p = rowIn + start[xx]! * C;
      if (C === 3 || C === 4) {
        // RGB, or RGBX whose fourth channel nobody reads: resample three channels, leave the fourth at 0.
        let a0 = HALF;
        let a1 = HALF;
        let a2 = HALF;
        for (let x = 0; x < n; x++, p += C) {
          const w = weights[kOff + x]!;
          a0 = (a0 + Math.imul(src[p]!, w)) | 0;
          a1 = (a1 + Math.imul(src[p + 1]!, w)) | 0;
          a2 = (a2 + Math.imul(src[p + 2]!, w)) | 0;
        }
        out[o++] = a0 >> PRECISION_BITS;
        out[o++] = a1 >> PRECISION_BITS;
        out[o++] = a2 >> PRECISION_BITS;
        if (C === 4) o++;
      } else {
        for (let ch = 0; ch < C; ch++) {
          let acc = HALF;
          for (let x = 0, q = p + ch; x < n; x++, q += C) acc = (acc + Math.imul(src[q]!, weights[kOff + x]!)) | 0;
          out[o++] = acc >> PRECISION_BITS;
        }
      }
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * Vertical pass (exported for the streaming JPEG path); `rowShift` is subtracted from each tap start (Pillow shifts bounds when the horizontal pass only
 * produced the rows the vertical pass reads). Accumulates whole rows for cache-friendly access.
 * @param src [H, W, C] uint8
 * @returns [outH, W, C] uint8
 */
export function resizeVertical(src: Uint8Array, W: number, C: number, outH: number, rowShift: number, c: ResampleCoeffs): Uint8Array {
  const stride = W * C;
  const out = new Uint8ClampedArray(outH * stride);
  const acc = new Int32Array(stride);
  const { ksize, start, count, weights } = c;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = start[yy]! - rowShift;
    const n = count[yy]!;
    const kOff = yy * ksize;
    acc.fill(HALF);
    for (let y = 0; y < n; y++) {
      const w = weights[kOff + y]!;
      const row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] = (acc[i]! + Math.imul(src[row + i]!, w)) | 0;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) out[o + i] = acc[i]! >> PRECISION_BITS;
  }
  return new Uint8Array(out.buffer);
}

/**
 * `Image.resize((outW, outH), resample)` for an 8-bit image with C interleaved channels (`ImagingResampleInner`).
 * With C = 4 the fourth channel is treated as padding (RGBX, as the WASM codecs deliver it) and comes out as 0
 * wherever the width changes.
 * @param img [H, W, C] uint8
 * @returns [outH, outW, C] uint8
 */
export function resizeImage(img: RgbImage, outW: number, outH: number, filter: ResampleFilter = "bilinear"): RgbImage {
  const { width: W, height: H, channels: C } = img;
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) {
    throw new SiglipError("INVALID_ARGUMENT", `resize target must be positive integers, got ${outW}x${outH}`);
  }
  if (outW === W && outH === H) return { width: W, height: H, channels: C, data: img.data.slice() };
  const needH = outW !== W;
  const needV = outH !== H;
  const ch = resampleCoeffs(W, outW, filter);
  const cv = resampleCoeffs(H, outH, filter);
  let data = img.data;
  let width = W;
  let shift = 0;
  if (needH) {
    // Only the source rows the vertical pass reads are resampled horizontally (Pillow's ybox_first/ybox_last).
    const first = needV ? cv.start[0]! : 0;
    const last = needV ? cv.start[outH - 1]! + cv.count[outH - 1]! : H;
    data = horizontal(data, W, C, first, last - first, outW, ch);
    width = outW;
    shift = first;
  }
  if (needV) data = resizeVertical(data, width, C, outH, shift, cv);
  return { width: outW, height: outH, channels: C, data };
}
