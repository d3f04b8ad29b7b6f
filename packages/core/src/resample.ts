/**
 * Antialiased bilinear resampling weights, as torch `F.interpolate(mode="bilinear", align_corners=False,
 * antialias=True)` computes them (siglip2-spec §6.2). NaFlex resizes its learned 16x16 position grid to each
 * image's patch grid with these; the exporter and the runtime share them.
 * @module
 */
import { SiglipError } from "./errors.ts";

/**
 * Dense 1-D weights `W [outSize, inSize]` (float64) with `out = W · in`. Rows sum to 1.
 */
export function antialiasBilinearWeights(inSize: number, outSize: number): Float64Array {
  if (!Number.isInteger(inSize) || !Number.isInteger(outSize) || inSize < 1 || outSize < 1) {
    throw new SiglipError("INVALID_ARGUMENT", `resample sizes must be positive integers, got ${inSize} -> ${outSize}`);
  }
  const W = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  const support = Math.max(scale, 1); // bilinear support 1, widened when downsampling
  const inv = 1 / Math.max(scale, 1);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let j = xmin; j < xmax; j++) {
      const w = Math.max(0, 1 - Math.abs((j - center + 0.5) * inv));
      W[i * inSize + j] = w;
      total += w;
    }
    if (total > 0) for (let j = xmin; j < xmax; j++) W[i * inSize + j] = (W[i * inSize + j] as number) / total;
  }
  return W;
}

export interface ResizeGridOptions {
  /**
   * Reproduce torch's antialiased bilinear kernel where it departs from the formula (default true, since
   * transformers' `Siglip2VisionEmbeddings` calls it): with an output width of 1 and an output height different from
   * the input's, torch (2.13, CPU) returns the first output row for every row. Verified on grids 2x1 to 256x1
   * (fixtures/goldens/core/core.json). `false` gives the formula's result (what big_vision's JAX resize computes).
   */
  torchCompatible?: boolean;
}

/**
 * Resizes a row-major `[G, G, D]` grid (float32) to `[h, w, D]` with separable antialiased bilinear weights:
 * `out = Wy · grid · Wxᵀ` per channel, accumulated in float64 and rounded once to float32. One output row at a time
 * (the vertical pass into a `[G, D]` row, then the horizontal pass), so the scratch is G·D doubles whatever the grid
 * (a 2 x 512 grid would otherwise take a 16 x 512 x D float64 intermediate, 48 MiB at D = 768).
 * @param grid [G*G*D] float32, (y, x, d) order
 * @param out where to write (h*w*D values, e.g. a slice of a pooled batch buffer); default a new array
 * @returns [h*w*D] float32, (y, x, d) order
 */
export function resizePositionGrid(grid: Float32Array, G: number, D: number, h: number, w: number, options: ResizeGridOptions = {}, out?: Float32Array): Float32Array {
  if (grid.length !== G * G * D) {
    throw new SiglipError("SHAPE_MISMATCH", `position grid has ${grid.length} values, expected ${G}x${G}x${D}`);
  }
  const Wy = antialiasBilinearWeights(G, h);
  const Wx = antialiasBilinearWeights(G, w);
  const dst = out ?? new Float32Array(h * w * D); // [h, w, D]
  if (dst.length !== h * w * D) throw new SiglipError("SHAPE_MISMATCH", `output holds ${dst.length} values, [${h}, ${w}, ${D}] needs ${h * w * D}`);
  const row = new Float64Array(G * D); // one output row before the horizontal pass: [G, D]
  const acc = new Float64Array(D);
  for (let y = 0; y < h; y++) {
    row.fill(0);
    for (let j = 0; j < G; j++) {
      const wt = Wy[y * G + j] as number;
      if (wt === 0) continue;
      const src = j * G * D;
      for (let k = 0; k < G * D; k++) row[k] = (row[k] as number) + wt * (grid[src + k] as number);
    }
    for (let x = 0; x < w; x++) {
      acc.fill(0);
      for (let i = 0; i < G; i++) {
        const wt = Wx[x * G + i] as number;
        if (wt === 0) continue;
        const src = i * D;
        for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + wt * (row[src + d] as number);
      }
      dst.set(acc, (y * w + x) * D);
    }
  }
  if ((options.torchCompatible ?? true) && w === 1 && h !== G) {
    for (let y = 1; y < h; y++) dst.copyWithin(y * D, 0, D); // every row becomes row 0, as torch returns it
  }
  return dst;
}
