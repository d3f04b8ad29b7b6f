/**
 * From coefficients to RGB rows, one iMCU row at a time, as libjpeg-turbo 3.1 does it with Pillow's settings:
 * ISLOW IDCT (`jpeg-idct.ts`), the main controller's context rows (row 0 repeated above the image, the last real
 * row repeated below it: jdmainct.c), the upsampler jdsample.c picks (h2v1 / h2v2 fancy when the component is wider
 * than 2 samples, h1v2 fancy, else replication), then the colour stage (`jpeg-colour.ts`) for every colour model.
 * Holds three iMCU rows of samples per component (the rows above and below an iMCU row are its context).
 * @module
 */
import { corrupt } from "./bytes.ts";
import { colourRow, type ColourModel } from "./jpeg-colour.ts";
import { idctIslow } from "./jpeg-idct.ts";
import type { JpegComponent, JpegFrame } from "./jpeg-markers.ts";

/** Receives decoded rows in order; `rgb` is [W * 3] uint8 and is reused after the call returns. */
export interface JpegRowSink {
  row(y: number, rgb: Uint8Array): void;
}

interface Plane {
  c: JpegComponent;
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
  private readonly model: ColourModel;
  private readonly planes: Plane[];
  /** The upsampled row of each plane, in frame order. */
  private readonly ups: Uint8Array[];
  private readonly sink: JpegRowSink;
  /** [W, 3] uint8, handed to the sink; written through `rgbOut` (clamped stores). */
  private readonly rgb: Uint8Array;
  private readonly rgbOut: Uint8ClampedArray;
  private readonly ws = new Float64Array(64);
  /** iMCU rows transformed so far. */
  private done = 0;
  private emitted = 0;

  constructor(frame: JpegFrame, model: ColourModel, sink: JpegRowSink) {
    const { width: W, height: H, hmax, vmax } = frame;
    this.W = W;
    this.H = H;
    this.vmax = vmax;
    this.model = model;
    this.sink = sink;
    this.rgb = new Uint8Array(W * 3);
    this.rgbOut = new Uint8ClampedArray(this.rgb.buffer);
    this.planes = frame.comps.map((c) => {
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
    this.ups = this.planes.map((p) => p.up);
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
      colourRow(this.model, this.ups, this.W, this.rgbOut);
      this.sink.row(y, this.rgb);
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

