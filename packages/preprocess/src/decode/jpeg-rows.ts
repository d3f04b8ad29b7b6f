/**
 * From coefficients to RGB rows, one iMCU row at a time, as libjpeg-turbo 3.1 does it with Pillow's settings:
 * ISLOW IDCT (jidctint.c via `idctIslow`), the main controller's context rows (row 0 repeated above the image, the
 * last real row repeated below it: jdmainct.c), the upsampler jdsample.c picks (h2v1 / h2v2 fancy when the
 * component is wider than 2 samples, h1v2 fancy, else replication) and jdcolor.c's fixed-point YCbCr -> RGB.
 * Holds three iMCU rows of samples per component (the rows above and below an iMCU row are its context).
 * @module
 */
import { corrupt } from "./bytes.ts";
import { idctIslow } from "./jpeg-cmyk.ts";

/** Receives decoded rows in order; `rgb` is [W * 3] uint8 and is reused after the call returns. */
export interface JpegRowSink {
  row(y: number, rgb: Uint8Array): void;
}

/** A frame component as the emitter needs it (set by the frame parser). */
export interface FrameComponent {
  h: number;
  v: number;
  /** Quantisation table, natural order. */
  q: Uint16Array;
  /** Coefficients: one iMCU row (streaming) or the whole component, [blockRows, bw, 64] int16, natural order. */
  coefs: Int16Array;
  /** Blocks per row and block rows of the MCU-padded component. */
  bw: number;
  bh: number;
  /** libjpeg's downsampled_width / downsampled_height (set by the emitter). */
  compW: number;
  compH: number;
}

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number) => Math.trunc(x * (1 << SCALEBITS) + 0.5);

/** jdcolor.c build_ycc_rgb_table. */
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

interface Plane {
  c: FrameComponent;
  hUp: number;
  vUp: number;
  /** Samples per ring row (bw * 8). */
  stride: number;
  /** Rows per iMCU row (v * 8). */
  rows: number;
  /** Three iMCU rows of samples, [3 * rows, stride] uint8. */
  ring: Uint8Array;
  /** Upsampled output row, [>= W] uint8. */
  up: Uint8Array;
  fancyH: boolean;
  fancyV: boolean;
}

export class JpegRowEmitter {
  private readonly W: number;
  private readonly H: number;
  private readonly vmax: number;
  private readonly planes: Plane[];
  private readonly sink: JpegRowSink;
  private readonly rgb: Uint8Array;
  private readonly ws = new Float64Array(64);
  /** iMCU rows transformed so far. */
  private done = 0;
  private emitted = 0;

  constructor(W: number, H: number, comps: FrameComponent[], hmax: number, vmax: number, sink: JpegRowSink) {
    this.W = W;
    this.H = H;
    this.vmax = vmax;
    this.sink = sink;
    this.rgb = new Uint8Array(W * 3);
    this.planes = comps.map((c) => {
      c.compW = Math.ceil((W * c.h) / hmax);
      c.compH = Math.ceil((H * c.v) / vmax);
      const hUp = hmax / c.h;
      const vUp = vmax / c.v;
      // libjpeg refuses non-integral ratios too (JERR_FRACT_SAMPLE_NOTIMPL).
      if (!Number.isInteger(hUp) || !Number.isInteger(vUp)) corrupt("JPEG", "fractional sampling factors");
      const stride = c.bw * 8;
      const rows = c.v * 8;
      return {
        c,
        hUp,
        vUp,
        stride,
        rows,
        ring: new Uint8Array(3 * rows * stride),
        up: new Uint8Array(Math.max(W, c.compW * hUp) + 8),
        // jdsample.c: h2v1 / h2v2 fancy only when downsampled_width > 2; h1v2 fancy always.
        fancyH: hUp === 2 && (vUp === 1 || vUp === 2) && c.compW > 2,
        fancyV: vUp === 2 && ((hUp === 2 && c.compW > 2) || hUp === 1),
      };
    });
  }

  /** Transforms iMCU row `my` (its coefficients must be in place) and emits the rows of the one before. */
  mcuRow(my: number): void {
    for (const p of this.planes) {
      const c = p.c;
      const streaming = c.coefs.length === c.v * c.bw * 64;
      const base = streaming ? 0 : my * c.v;
      const slot = (my % 3) * p.rows;
      for (let v = 0; v < c.v; v++) {
        for (let bx = 0; bx < c.bw; bx++) {
          idctIslow(c.coefs, ((base + v) * c.bw + bx) * 64, c.q, p.ring, (slot + v * 8) * p.stride + bx * 8, p.stride, this.ws);
        }
      }
    }
    this.done = my + 1;
    if (my >= 1) this.emit(my - 1);
  }

  /** Emits the rows of the last iMCU row. */
  finish(): void {
    if (this.done >= 1 && this.emitted < this.H) this.emit(this.done - 1);
  }

  private row(p: Plane, j: number): number {
    const jj = j < 0 ? 0 : j >= p.c.compH ? p.c.compH - 1 : j;
    return (jj % (3 * p.rows)) * p.stride;
  }

  private emit(k: number): void {
    const y1 = Math.min(this.H, (k + 1) * this.vmax * 8);
    for (let y = k * this.vmax * 8; y < y1; y++) {
      for (const p of this.planes) this.upsample(p, y);
      const rgb = this.rgb;
      const W = this.W;
      if (this.planes.length === 1) {
        const g = (this.planes[0] as Plane).up;
        for (let x = 0, o = 0; x < W; x++, o += 3) {
          const v = g[x] as number;
          rgb[o] = v;
          rgb[o + 1] = v;
          rgb[o + 2] = v;
        }
      } else {
        const [py, pb, pr] = this.planes as [Plane, Plane, Plane];
        const Y = py.up;
        const Cb = pb.up;
        const Cr = pr.up;
        for (let x = 0, o = 0; x < W; x++, o += 3) {
          const yy = Y[x] as number;
          const cb = Cb[x] as number;
          const cr = Cr[x] as number;
          const r = yy + (CR_R[cr] as number);
          const g = yy + (((CB_G[cb] as number) + (CR_G[cr] as number)) >> SCALEBITS);
          const b = yy + (CB_B[cb] as number);
          rgb[o] = r < 0 ? 0 : r > 255 ? 255 : r;
          rgb[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
          rgb[o + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
        }
      }
      this.sink.row(y, rgb);
      this.emitted = y + 1;
    }
  }

  private upsample(p: Plane, y: number): void {
    const ring = p.ring;
    const out = p.up;
    const n = p.c.compW;
    if (p.vUp === 1 && p.hUp === 1) {
      const s = this.row(p, y);
      out.set(ring.subarray(s, s + n));
      return;
    }
    const j = Math.floor(y / p.vUp);
    const s0 = this.row(p, j);
    if (p.fancyV) {
      const below = (y & 1) === 1;
      const s1 = this.row(p, below ? j + 1 : j - 1);
      if (p.hUp === 1) {
        // h1v2_fancy_upsample: bias 1 above, 2 below.
        const bias = below ? 2 : 1;
        for (let x = 0; x < n; x++) out[x] = ((ring[s0 + x] as number) * 3 + (ring[s1 + x] as number) + bias) >> 2;
        return;
      }
      // h2v2_fancy_upsample (n > 2).
      let thiscol = (ring[s0] as number) * 3 + (ring[s1] as number);
      let nextcol = (ring[s0 + 1] as number) * 3 + (ring[s1 + 1] as number);
      let o = 0;
      out[o++] = (thiscol * 4 + 8) >> 4;
      out[o++] = (thiscol * 3 + nextcol + 7) >> 4;
      let lastcol = thiscol;
      thiscol = nextcol;
      for (let x = 2; x < n; x++) {
        nextcol = (ring[s0 + x] as number) * 3 + (ring[s1 + x] as number);
        out[o++] = (thiscol * 3 + lastcol + 8) >> 4;
        out[o++] = (thiscol * 3 + nextcol + 7) >> 4;
        lastcol = thiscol;
        thiscol = nextcol;
      }
      out[o++] = (thiscol * 3 + lastcol + 8) >> 4;
      out[o] = (thiscol * 4 + 7) >> 4;
      return;
    }
    if (p.fancyH) {
      // h2v1_fancy_upsample (n > 2) on the row itself.
      let inv = ring[s0] as number;
      let o = 0;
      out[o++] = inv;
      out[o++] = (inv * 3 + (ring[s0 + 1] as number) + 2) >> 2;
      for (let x = 1; x < n - 1; x++) {
        inv = (ring[s0 + x] as number) * 3;
        out[o++] = (inv + (ring[s0 + x - 1] as number) + 1) >> 2;
        out[o++] = (inv + (ring[s0 + x + 1] as number) + 2) >> 2;
      }
      inv = ring[s0 + n - 1] as number;
      out[o++] = (inv * 3 + (ring[s0 + n - 2] as number) + 1) >> 2;
      out[o] = inv;
      return;
    }
    // h2v1 / h2v2 / int_upsample: replication.
    const hUp = p.hUp;
    for (let x = 0, o = 0; x < n; x++) {
      const v = ring[s0 + x] as number;
      for (let t = 0; t < hUp; t++) out[o++] = v;
    }
  }
}

