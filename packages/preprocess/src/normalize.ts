/**
 * Rescale + normalise as one 256-entry table (siglip2-spec §7.1): HF computes `float32(float64(v) * (1/255))`, then
 * `(x - 0.5) / 0.5` in float32. Checked against transformers 5.18 `SiglipImageProcessorPil` for all 256 values by
 * the goldens in fixtures/goldens/preprocess.
 * @module
 */

function buildLut(): Float32Array {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    const scaled = Math.fround(v * 0.00392156862745098); // rescale_factor as HF stores it (1/255 in float64)
    lut[v] = Math.fround(Math.fround(scaled - 0.5) / 0.5);
  }
  return lut;
}

/** `LUT[v]` is the float32 value HF's PIL-path processors produce for the uint8 sample `v` (range [-1, 1]). */
export const PIXEL_LUT: Readonly<Float32Array> = buildLut();
