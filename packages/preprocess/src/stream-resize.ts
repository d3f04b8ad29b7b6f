/**
 * `resizeImage(applyOrientation(decoded, o), outW, outH)` computed from decoded rows as they arrive, without the
 * decoded image: Pillow's horizontal pass (of the oriented image) runs per incoming row for orientations 1-4; for
 * 5-8 the oriented image's horizontal axis is the decoded vertical axis, so each output column accumulates its taps
 * (int32, as Pillow's kernel) from the incoming rows and is clipped to 8 bits when its last tap has arrived. Then
 * the usual vertical pass. Held: the horizontally resized image (outW x rows needed x 3) plus a few accumulators.
 * Same integer sums, same rounding points: bit-identical to the full-image path.
 * @module
 */
import type { RgbImage } from "./image.ts";
import { clip8, RESAMPLE_HALF, resampleCoeffs, resizeRowRgb, resizeVertical, type ResampleCoeffs, type ResampleFilter } from "./resize.ts";

// Hot loops index typed arrays inside bounds fixed by the coefficient tables: `!` is scoped to them.

export class StreamResize {
  private readonly W: number;
  private readonly H: number;
  private readonly o: number;
  private readonly outW: number;
  private readonly outH: number;
  private readonly needH: boolean;
  private readonly needV: boolean;
  private readonly ch: ResampleCoeffs;
  private readonly cv: ResampleCoeffs;
  /** Oriented rows [first, last) are the ones the vertical pass reads. */
  private readonly first: number;
  private readonly last: number;
  private readonly midW: number;
  /** [last - first, midW, 3] uint8 */
  private readonly mid: Uint8Array;
  private readonly tmp: Uint8Array;
  /** Orientations 5-8: per oriented column, the output columns whose window holds it, and the taps still missing. */
  private readonly xxLo: Int32Array;
  private readonly xxHi: Int32Array;
  private readonly remaining: Int32Array;
  private readonly accs = new Map<number, Int32Array>();
  rows = 0;

  /**
   * @param W decoded width, `H` decoded height, `orientation` EXIF 1-8 (others = 1)
   * @param outW size of the oriented, resized result
   */
  constructor(W: number, H: number, orientation: number, outW: number, outH: number, filter: ResampleFilter) {
    this.W = W;
    this.H = H;
    this.o = orientation >= 2 && orientation <= 8 ? orientation : 1;
    const swap = this.o >= 5;
    const ow = swap ? H : W;
    const oh = swap ? W : H;
    this.outW = outW;
    this.outH = outH;
    this.needH = outW !== ow;
    this.needV = outH !== oh;
    this.ch = resampleCoeffs(ow, outW, filter);
    this.cv = resampleCoeffs(oh, outH, filter);
    this.first = this.needV ? this.cv.start[0]! : 0;
    this.last = this.needV ? this.cv.start[outH - 1]! + this.cv.count[outH - 1]! : oh;
    this.midW = this.needH ? outW : ow;
    this.mid = new Uint8Array((this.last - this.first) * this.midW * 3);
    this.tmp = new Uint8Array(W * 3);
    this.xxLo = new Int32Array(swap && this.needH ? ow : 0).fill(-1);
    this.xxHi = new Int32Array(this.xxLo.length).fill(-2);
    this.remaining = new Int32Array(swap && this.needH ? outW : 0);
    if (swap && this.needH) {
      const { start, count } = this.ch;
      for (let xx = 0; xx < outW; xx++) {
        this.remaining[xx] = count[xx]!;
        for (let t = start[xx]!; t < start[xx]! + count[xx]!; t++) {
          if (this.xxLo[t]! < 0) this.xxLo[t] = xx;
          this.xxHi[t] = xx;
        }
      }
    }
  }

  /** Decoded row `sy`, [W, 3] uint8; rows must come once each (any order). */
  row(sy: number, rgb: Uint8Array): void {
    this.rows++;
    const { W, H, o, first, last } = this;
    if (o < 5) {
      const r = o === 3 || o === 4 ? H - 1 - sy : sy;
      if (r < first || r >= last) return;
      let src = rgb;
      if (o === 2 || o === 3) {
        const t = this.tmp;
        for (let x = 0, s = (W - 1) * 3; x < W * 3; x += 3, s -= 3) {
          t[x] = rgb[s]!;
          t[x + 1] = rgb[s + 1]!;
          t[x + 2] = rgb[s + 2]!;
        }
        src = t;
      }
      const at = (r - first) * this.midW * 3;
      if (this.needH) resizeRowRgb(src, 0, this.mid, at, this.outW, this.ch);
      else this.mid.set(src.subarray(0, W * 3), at);
      return;
    }
    // Oriented column x is this decoded row; oriented row r is decoded column sx(r).
    const x = o === 5 || o === 8 ? sy : H - 1 - sy;
    const flipCols = o === 7 || o === 8;
    const n = last - first;
    const mid = this.mid;
    if (!this.needH) {
      for (let r = first; r < last; r++) {
        const s = (flipCols ? W - 1 - r : r) * 3;
        const d = ((r - first) * this.midW + x) * 3;
        mid[d] = rgb[s]!;
        mid[d + 1] = rgb[s + 1]!;
        mid[d + 2] = rgb[s + 2]!;
      }
      return;
    }
    const { ksize, start, weights } = this.ch;
    for (let xx = this.xxLo[x]!; xx <= this.xxHi[x]!; xx++) {
      const w = weights[xx * ksize + x - start[xx]!]!;
      let acc = this.accs.get(xx);
      if (acc === undefined) {
        acc = new Int32Array(n * 3).fill(RESAMPLE_HALF);
        this.accs.set(xx, acc);
      }
      for (let r = first, a = 0; r < last; r++, a += 3) {
        const s = (flipCols ? W - 1 - r : r) * 3;
        acc[a] = (acc[a]! + Math.imul(rgb[s]!, w)) | 0;
        acc[a + 1] = (acc[a + 1]! + Math.imul(rgb[s + 1]!, w)) | 0;
        acc[a + 2] = (acc[a + 2]! + Math.imul(rgb[s + 2]!, w)) | 0;
      }
      if (--this.remaining[xx]! === 0) {
        for (let i = 0, d = xx * 3; i < n; i++, d += this.outW * 3) {
          mid[d] = clip8(acc[i * 3]!);
          mid[d + 1] = clip8(acc[i * 3 + 1]!);
          mid[d + 2] = clip8(acc[i * 3 + 2]!);
        }
        this.accs.delete(xx);
      }
    }
  }

  /**
   * The resized, oriented image.
   * @returns [outH, outW, 3] uint8
   */
  finish(): RgbImage {
    const data = this.needV ? resizeVertical(this.mid, this.midW, 3, this.outH, this.first, this.cv) : this.mid;
    return { width: this.outW, height: this.outH, channels: 3, data };
  }
}
